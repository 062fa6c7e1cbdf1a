#include "device/checks.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace carve::device {
namespace {

std::optional<std::vector<int>> VersionParts(std::string_view v) {
  std::vector<int> out;
  while (!v.empty()) {
    size_t dot = v.find('.');
    std::string_view part = v.substr(0, dot);
    int n = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), n);
    if (part.empty() || ec != std::errc() || end != part.data() + part.size()) return std::nullopt;
    out.push_back(n);
    v = dot == std::string_view::npos ? std::string_view() : v.substr(dot + 1);
    if (dot != std::string_view::npos && v.empty()) return std::nullopt;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

Check Row(const char* name, const Gpu& g, CheckStatus s, std::string detail, std::string fix = {}) {
  return {name, g.index, s, std::move(detail), std::move(fix)};
}

std::optional<Check> DriverCheck(const DriverInfo& d, const Gpu& g) {
  const std::string& min = g.model->min_driver;
  if (min.empty()) return std::nullopt;
  auto cmp = CompareDriverVersions(d.driver_version, min);
  if (!cmp)
    return Row("driver", g, CheckStatus::kUnknown,
               fmt::format("cannot compare driver '{}' with {}, the first with MIG on {}",
                           d.driver_version, min, g.model->name),
               "See the driver version: nvidia-smi --query-gpu=driver_version --format=csv");
  if (*cmp < 0)
    return Row("driver", g, CheckStatus::kFail,
               fmt::format("driver {} is older than {}, the first with MIG on {}", d.driver_version,
                           min, g.model->name),
               fmt::format("Install NVIDIA driver {} or later", min));
  return Row("driver", g, CheckStatus::kOk,
             fmt::format("driver {} ≥ {}, the first with MIG on {}", d.driver_version, min,
                         g.model->name));
}

std::optional<Check> DisplayModeCheck(const Gpu& g) {
  const mig::Product* p =
      mig::Catalog::Builtin().FindProduct(fmt::format("0x{:08X}", g.pci_device_id));
  if (!p || !p->display_mode) return std::nullopt;
  if (g.mig_capable)
    return Row("display mode", g, CheckStatus::kOk, "compute mode: MIG is available");
  return Row(
      "display mode", g, CheckStatus::kFail,
      fmt::format("the {} is in display mode: the driver offers no MIG until it is in compute mode",
                  p->name),
      "Switch it with NVIDIA's DisplayModeSelector 1.72.0 or later (vBIOS 98.02.55.00.00 or "
      "later; Max-Q 98.02.6A.00.00): sudo ./displaymodeselector --gpumode compute, then reboot");
}

std::optional<Check> ComputeInstanceCheck(const Gpu& g) {
  if (!g.mig.current || g.gpu_instances.empty()) return std::nullopt;
  std::string empty, fix;
  for (const auto& gi : g.gpu_instances) {
    if (!gi.compute_instances.empty()) continue;
    empty += fmt::format("{}GI {} ({}@{})", empty.empty() ? "" : ", ", gi.id, gi.profile,
                         gi.placement.start);
    fix +=
        fmt::format("{}carve mig create-ci -i {} --gi {}", fix.empty() ? "" : "; ", g.index, gi.id);
  }
  if (empty.empty())
    return Row("compute instances", g, CheckStatus::kOk,
               "every GPU instance has a compute instance");
  return Row("compute instances", g, CheckStatus::kWarn,
             empty + " without a compute instance: CUDA sees nothing there", fix);
}

// GPU instances the driver reported an Xid on: what runs there fails.
std::optional<Check> FaultCheck(const Gpu& g) {
  std::string failed, fix;
  for (const auto& gi : g.gpu_instances) {
    if (gi.fault.empty()) continue;
    failed += fmt::format("{}GI {} ({}@{}): {}", failed.empty() ? "" : "; ", gi.id, gi.profile,
                          gi.placement.start, gi.fault);
    fix +=
        fmt::format("{}carve mig destroy -i {} --gi {}", fix.empty() ? "" : "; ", g.index, gi.id);
  }
  if (failed.empty()) return std::nullopt;
  return Row("gpu instances", g, CheckStatus::kFail,
             "failed, engines there get CUDA errors: " + failed,
             "Move what runs there (carve up does), then re-create the instance: " + fix +
                 ", then create it again; or reset the GPU");
}

Check EccCheck(const Gpu& g) {
  if (!g.ecc)
    return Row("ecc", g, CheckStatus::kUnknown, "this backend does not report ECC",
               fmt::format("See it: nvidia-smi -q -d ECC -i {}", g.index));
  auto on = [](bool b) { return b ? "on" : "off"; };
  if (g.ecc->current == g.ecc->pending)
    return Row("ecc", g, CheckStatus::kOk,
               fmt::format("{}, no change pending", on(g.ecc->current)));
  return Row("ecc", g, CheckStatus::kWarn,
             fmt::format(
                 "{} now, {} after the next GPU reset or reboot, which also destroys every slice{}",
                 on(g.ecc->current), on(g.ecc->pending),
                 mig::ModeSurvivesReboot(g.arch) ? "" : " (and, at a reboot, MIG mode)"),
             "Let it happen while the GPU is idle: stop its work, reboot (or nvidia-smi -r -i " +
                 std::to_string(g.index) + "), then make the layout again (carve apply FILE)");
}

Check PersistenceCheck(const Gpu& g) {
  if (g.persistence_mode) return Row("persistence", g, CheckStatus::kOk, "on");
  return Row("persistence", g, CheckStatus::kWarn,
             "off: the driver drops the GPU's state whenever no program uses it, and nvidia-smi "
             "warns at every MIG change",
             fmt::format("sudo nvidia-smi -i {} -pm 1 (or enable nvidia-persistenced)", g.index));
}

std::optional<Check> TimeSlicingCheck(const Gpu& g) {
  if (!g.mig_timeslicing) return std::nullopt;
  if (*g.mig_timeslicing)
    return Row("mig time-slicing", g, CheckStatus::kOk,
               "the driver reports MIG time-slicing supported");
  return Row("mig time-slicing", g, CheckStatus::kInfo,
             "the driver reports MIG time-slicing not supported: a slice is not time-shared "
             "between vGPUs");
}

const Gpu* ByUuid(const std::vector<Gpu>& gpus, const std::string& uuid) {
  for (const auto& g : gpus)
    if (g.uuid == uuid) return &g;
  return nullptr;
}

// The GPUs that no longer hold what apply left them with: MIG off (Hopper and
// later lose it at every reboot) or their slices gone (every GPU does).
std::string Lost(const std::vector<Gpu>& gpus, const AppliedLayout& a) {
  std::string out;
  for (const auto& held : a.gpus) {
    const Gpu* g = ByUuid(gpus, held.uuid);
    if (!g) continue;
    bool lost = !g->mig.current || (held.slices > 0 && g->gpu_instances.empty());
    if (lost) out += fmt::format("{}GPU {}", out.empty() ? "" : ", ", g->index);
  }
  return out;
}

Check BootRow(CheckStatus s, std::string detail, std::string fix = {}) {
  return {"boot", -1, s, std::move(detail), std::move(fix)};
}

std::optional<Check> UnrecordedLayout(const std::vector<Gpu>& gpus) {
  std::string held;
  int n = 0;
  for (const auto& g : gpus)
    if (g.mig.current && !g.gpu_instances.empty())
      held += fmt::format("{}GPU {}", n++ ? ", " : "", g.index);
  if (held.empty()) return std::nullopt;
  return BootRow(CheckStatus::kInfo,
                 held + (n == 1 ? " holds" : " hold") +
                     " slices carve apply did not make: nothing makes them again after a reboot "
                     "(slices never survive one; from Hopper on MIG mode does not either)",
                 "carve export > layout.yaml && carve apply layout.yaml --install");
}

std::string Pids(const Gpu& g) {
  std::string out;
  for (const auto& p : g.processes) out += (out.empty() ? "" : " ") + std::to_string(p.pid);
  return out;
}

}  // namespace

std::vector<Check> MachineChecks(const std::vector<Gpu>& gpus,
                                 const std::optional<AppliedLayout>& applied) {
  if (!applied) {
    if (auto c = UnrecordedLayout(gpus)) return {*c};
    return {};
  }
  const std::string& file = applied->layout;
  std::string lost = Lost(gpus, *applied);
  if (applied->boot_unit && lost.empty())
    return {BootRow(CheckStatus::kOk,
                    "a boot unit (carve-apply.service) applies " + file + " at every boot")};
  if (applied->boot_unit)
    return {
        BootRow(CheckStatus::kWarn,
                lost + " lost the layout of " + file + ", though carve-apply.service is installed",
                "See why: systemctl status carve-apply; make it again now: carve apply " + file)};
  if (!lost.empty())
    return {BootRow(CheckStatus::kWarn,
                    lost + " lost the layout of " + file +
                        " at the reboot (slices never survive one; "
                        "from Hopper on MIG mode does not either), and no boot unit makes it again",
                    "carve apply " + file + " --install, then carve apply " + file)};
  if (applied->gpus.empty()) return {};
  return {BootRow(CheckStatus::kInfo, "nothing applies " + file + " again after a reboot",
                  "carve apply " + file + " --install")};
}

std::string_view CheckStatusName(CheckStatus s) {
  switch (s) {
    case CheckStatus::kOk:
      return "ok";
    case CheckStatus::kInfo:
      return "info";
    case CheckStatus::kWarn:
      return "warn";
    case CheckStatus::kFail:
      return "fail";
    case CheckStatus::kUnknown:
      return "unknown";
  }
  return "unknown";
}

Advice NextStep(const Gpu& g) {
  std::string i = std::to_string(g.index);
  if (!g.mig_capable && g.model && g.model->mig)
    return {"MIG unavailable: see the display mode check", ""};
  if (!g.mig_capable) return {"no MIG: use it as a whole GPU", ""};
  if (!g.model) return {"not in carve's catalogue: carve lists it but will not partition it", ""};
  if (g.mig.pending != g.mig.current) {
    std::string want = g.mig.pending ? "enable" : "disable";
    if (!g.processes.empty())
      return {fmt::format("MIG {} is pending: processes {} hold the GPU", want, Pids(g)),
              fmt::format("stop processes {}, then: carve mig {} -i {}", Pids(g), want, i)};
    return {fmt::format("MIG {} is pending: nothing holds the GPU now", want),
            fmt::format("carve mig {} -i {}", want, i)};
  }
  if (!g.mig.current)
    return {g.processes.empty()
                ? "MIG off"
                : fmt::format("MIG off; processes {} would block enabling it", Pids(g)),
            g.processes.empty()
                ? fmt::format("carve mig enable -i {}", i)
                : fmt::format("stop processes {}, then: carve mig enable -i {}", Pids(g), i)};
  if (g.gpu_instances.empty())
    return {"MIG on, no slices yet",
            fmt::format("carve profiles -i {0}   then: carve mig create -i {0} PROFILE,…", i)};
  return {fmt::format("MIG on, {} slice(s)", g.gpu_instances.size()),
          fmt::format("carve mig list -i {}", i)};
}

std::optional<int> CompareDriverVersions(std::string_view a, std::string_view b) {
  auto pa = VersionParts(a), pb = VersionParts(b);
  if (!pa || !pb) return std::nullopt;
  if (*pa == *pb) return 0;
  return *pa < *pb ? -1 : 1;  // lexicographic: 580.9 < 580.95.05
}

std::vector<Check> GpuChecks(const DriverInfo& driver, const Gpu& g) {
  std::vector<Check> out;
  if (!g.model || !g.model->mig) return out;
  for (auto c :
       {DriverCheck(driver, g), DisplayModeCheck(g), ComputeInstanceCheck(g), FaultCheck(g)})
    if (c) out.push_back(std::move(*c));
  out.push_back(EccCheck(g));
  out.push_back(PersistenceCheck(g));
  if (auto c = TimeSlicingCheck(g)) out.push_back(std::move(*c));
  return out;
}

}  // namespace carve::device
