#include "device/nvml/nvml_reconcile.h"

#include <fmt/format.h>

#include <algorithm>

namespace carve::device::nvml {
namespace {

std::string PlacementText(const std::vector<mig::Placement>& ps) {
  std::string out;
  for (const auto& p : ps) out += (out.empty() ? "" : " ") + fmt::format("{}:{}", p.start, p.size);
  return out.empty() ? "none" : out;
}

std::string EnginesText(const mig::Engines& e) {
  return fmt::format("CE {} DEC {} ENC {} JPG {} OFA {}", e.ce, e.dec, e.enc, e.jpeg, e.ofa);
}

bool SameEngines(const mig::Engines& a, const mig::Engines& b) {
  return a.ce == b.ce && a.dec == b.dec && a.enc == b.enc && a.jpeg == b.jpeg && a.ofa == b.ofa;
}

// Overrides `field` with NVML's value and notes the difference.
template <typename T, typename Show>
void Take(T& field, const T& nvml, const std::string& what, Show show,
          std::vector<std::string>* notes) {
  if (field == nvml) return;
  notes->push_back(fmt::format("{}: catalogue says {}, NVML reports {}; using NVML's", what,
                               show(field), show(nvml)));
  field = nvml;
}

void Correct(mig::Profile& p, const NvmlProfile& n, std::vector<std::string>* notes) {
  std::string what = fmt::format("profile {}", p.name);
  auto num = [](auto v) { return fmt::format("{}", v); };
  Take(p.id, n.id, what + " id", num, notes);
  Take(p.memory_mib, n.memory_mib, what + " memory (MiB)", num, notes);
  Take(p.sm, n.sm, what + " SMs", num, notes);
  Take(p.max_instances, n.max_instances, what + " max instances", num, notes);
  Take(p.slices, n.slices, what + " compute slices", num, notes);
  if (!SameEngines(p.engines, n.engines)) {
    notes->push_back(fmt::format("{} engines: catalogue says {}, NVML reports {}; using NVML's",
                                 what, EnginesText(p.engines), EnginesText(n.engines)));
    p.engines = n.engines;
  }
  if (!n.placements.empty())
    Take(p.placements, n.placements, what + " placements", PlacementText, notes);
  if (!n.name.empty())
    Take(
        p.name, n.name, what + " name", [](auto& s) { return s; }, notes);
}

}  // namespace

std::string ProfileName(std::string_view nvml_name) {
  if (nvml_name.starts_with("MIG ")) nvml_name.remove_prefix(4);
  return std::string(nvml_name);
}

Reconciled Reconcile(const mig::GpuModel& catalogue, const std::vector<NvmlProfile>& profiles,
                     uint64_t memory_mib) {
  Reconciled r{catalogue, {}};
  auto num = [](auto v) { return fmt::format("{}", v); };
  if (memory_mib) Take(r.model.memory_mib, memory_mib, "memory (MiB)", num, &r.notes);
  if (profiles.empty()) {
    if (catalogue.mig) r.notes.push_back("NVML reported no MIG profiles; using the catalogue's");
    return r;
  }
  std::vector<mig::Profile> kept;
  for (auto p : catalogue.profiles) {
    auto n = std::find_if(profiles.begin(), profiles.end(),
                          [&](const NvmlProfile& x) { return x.index == p.nvml_profile; });
    if (n == profiles.end()) {
      r.notes.push_back(
          fmt::format("profile {} (NVML_GPU_INSTANCE_PROFILE_{}) is in the catalogue "
                      "but NVML does not offer it; left out",
                      p.name, p.nvml_profile_name));
      continue;
    }
    Correct(p, *n, &r.notes);
    kept.push_back(std::move(p));
  }
  for (const auto& n : profiles)
    if (std::none_of(catalogue.profiles.begin(), catalogue.profiles.end(),
                     [&](const mig::Profile& p) { return p.nvml_profile == n.index; }))
      r.notes.push_back(
          fmt::format("NVML offers profile {} (index {}, id {}) that the catalogue "
                      "lacks; carve cannot create it until the catalogue has it",
                      n.name.empty() ? "?" : n.name, n.index, n.id));
  r.model.profiles = std::move(kept);
  return r;
}

}  // namespace carve::device::nvml
