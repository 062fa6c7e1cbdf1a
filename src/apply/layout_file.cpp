#include "apply/layout_file.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>

#include "apply/mig_parted.h"
#include "mig/profile_ref.h"
#include "util/yaml_fields.h"

namespace carve::apply {
namespace {

Status Bad(const spec::Where& at, const std::string& msg, std::string hint = {}) {
  return Status::InvalidArgument(at.str() + ": " + msg, std::move(hint));
}

std::string IndexList(const std::vector<device::Gpu>& gpus) {
  return gpus.empty() ? "none" : fmt::format("0–{}", gpus.size() - 1);
}

// The GPUs of this machine an entry selects (spec/ saw that it names exactly one way).
Result<std::vector<int>> Select(const spec::GpuEntry& e, const std::vector<device::Gpu>& gpus) {
  std::vector<int> out;
  if (e.index) {
    if (*e.index >= static_cast<int>(gpus.size()))
      return Bad(e.where,
                 fmt::format("no GPU {}; this machine has GPUs {}", *e.index, IndexList(gpus)),
                 "See them: carve gpus");
    out.push_back(*e.index);
  } else if (!e.uuid.empty()) {
    for (const auto& g : gpus)
      if (g.uuid == e.uuid) out.push_back(g.index);
    if (out.empty()) return Bad(e.where, "no GPU has UUID " + e.uuid, "See them: carve gpus");
  } else if (!e.model.empty()) {
    auto m = mig::Catalog::Builtin().Lookup(e.model);
    if (!m.ok()) return Bad(e.where, m.status().message(), m.status().hint());
    for (const auto& g : gpus)
      if (g.model == *m) out.push_back(g.index);
    if (out.empty())
      return Bad(e.where, fmt::format("this machine has no {} GPU", (*m)->alias),
                 "See them: carve gpus");
  } else {
    for (const auto& g : gpus) out.push_back(g.index);
  }
  return out;
}

Result<SliceSpec> SliceFromText(const mig::GpuModel& model, const std::string& text) {
  CARVE_ASSIGN_OR_RETURN(auto reqs, mig::ParseSliceList(model, text));
  if (reqs.size() != 1)
    return Status::InvalidArgument(fmt::format("'{}' is not one slice", text),
                                   "One PROFILE[@START] per item.");
  const auto& r = reqs[0];
  return SliceSpec{r.profile, r.start, {r.ci ? r.ci : model.DefaultComputeProfile(*r.profile)}};
}

Result<SliceSpec> ResolveSlice(const spec::SliceItem& item, const mig::GpuModel& model) {
  CARVE_ASSIGN_OR_RETURN(SliceSpec s, SliceFromText(model, item.slice));
  if (!item.mapping) return s;
  if (!s.cis[0]->is_default)
    return Status::InvalidArgument(
        fmt::format("'{}' names a compute instance; give those under compute:", item.slice),
        "Write {slice: PROFILE@START, compute: [1c, 2c]}.");
  if (!item.compute) return s;
  s.cis.clear();
  for (const auto& name : *item.compute) {
    CARVE_ASSIGN_OR_RETURN(const mig::ComputeProfile* cp,
                           mig::ResolveComputeProfile(model, *s.profile, name));
    s.cis.push_back(cp);
  }
  std::sort(s.cis.begin(), s.cis.end(), [](auto* a, auto* b) { return a->id < b->id; });
  return s;
}

Result<GpuLayout> LayoutFor(const spec::GpuEntry& e, const device::Gpu& gpu) {
  GpuLayout l{gpu.index, gpu.model, e.mig, {}, e.where.str()};
  if (!e.mig || !e.slices) return l;  // mig: off holds no slices (spec/ checked)
  if (!gpu.model || !gpu.model->mig)
    return Bad(e.where, fmt::format("GPU {} ({}) does not support MIG", gpu.index, gpu.name));
  for (const auto& item : *e.slices) {
    auto s = ResolveSlice(item, *gpu.model);
    if (!s.ok())
      return Bad(item.where, fmt::format("GPU {}: {}", gpu.index, s.status().message()),
                 s.status().hint());
    l.slices.push_back(*s);
  }
  return l;
}

std::string SliceText(const SliceSpec& s) {
  if (s.cis.size() == 1) return s.Name();
  std::string cis;
  for (const auto* c : s.cis) cis += (cis.empty() ? "" : ", ") + CiShortName(*c);
  return fmt::format("{{slice: {}@{}, compute: [{}]}}", s.profile->name, *s.start, cis);
}

}  // namespace

Result<Layouts> LayoutsFromSpec(const spec::Spec& spec, const std::vector<device::Gpu>& gpus) {
  if (!spec.gpus)
    return Status::InvalidArgument(
        fmt::format("{}: no gpus: section, so there is no layout to apply", spec.file),
        spec.models.empty()
            ? "Add one (see docs/apply.md), or write the current one with carve export."
            : fmt::format("Plan the models into layouts first: carve plan {0} --write layout.yaml, "
                          "then carve apply layout.yaml (or carve up {0}, which does both).",
                          spec.file));
  std::map<int, GpuLayout> by_gpu;
  for (const auto& e : *spec.gpus) {
    CARVE_ASSIGN_OR_RETURN(std::vector<int> sel, Select(e, gpus));
    for (int i : sel) {
      if (by_gpu.count(i))
        return Bad(e.where,
                   fmt::format("GPU {} already has a layout, from {}", i, by_gpu[i].source),
                   "Give each GPU one entry.");
      CARVE_ASSIGN_OR_RETURN(GpuLayout l, LayoutFor(e, gpus[i]));
      by_gpu[i] = l;
    }
  }
  Layouts out;
  for (auto& [i, l] : by_gpu) out.push_back(std::move(l));
  return out;
}

Result<Layouts> LoadCarveLayout(std::string_view text, const std::string& path,
                                const std::vector<device::Gpu>& gpus) {
  CARVE_ASSIGN_OR_RETURN(spec::Spec spec, spec::ParseSpec(text, path));
  return LayoutsFromSpec(spec, gpus);
}

Result<Layouts> LoadLayoutFile(std::string_view text, const std::string& path,
                               const std::string& config, const std::vector<device::Gpu>& gpus) {
  CARVE_ASSIGN_OR_RETURN(YAML::Node root, yaml::Parse(text, path));
  if (root.IsMap() && root["mig-configs"].IsDefined())
    return LoadMigParted(text, path, config, gpus);
  if (!config.empty())
    return Status::InvalidArgument(
        fmt::format("{} is a carve.yaml; -c {} is for mig-parted configs", path, config),
        "Drop -c.");
  return LoadCarveLayout(text, path, gpus);
}

std::string WriteCarveLayout(const std::vector<device::Gpu>& gpus) {
  std::string out =
      "# carve export: what each GPU holds now. carve apply FILE changes nothing.\n"
      "version: v1\ngpus:\n";
  for (const auto& g : gpus) {
    out += fmt::format("  - index: {}    # {} {}\n", g.index, g.name, g.uuid);
    if (!g.model || !g.mig_capable) {
      out += "    mig: off\n";
      continue;
    }
    GpuLayout l = LayoutOf(g);
    out += fmt::format("    mig: {}\n", l.mig ? "on" : "off");
    if (!l.mig) continue;
    std::string items;
    for (const auto& s : l.slices) items += (items.empty() ? "" : ", ") + SliceText(s);
    out += fmt::format("    slices: [{}]\n", items);
  }
  return out;
}

}  // namespace carve::apply
