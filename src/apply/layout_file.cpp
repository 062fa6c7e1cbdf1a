#include "apply/layout_file.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>

#include "apply/mig_parted.h"
#include "apply/yaml_doc.h"
#include "mig/profile_ref.h"

namespace carve::apply {
namespace {

std::string IndexList(const std::vector<device::Gpu>& gpus) {
  return gpus.empty() ? "none" : fmt::format("0–{}", gpus.size() - 1);
}

Result<std::vector<int>> Select(const Doc& doc, const YAML::Node& e,
                                const std::vector<device::Gpu>& gpus) {
  int given = e["index"].IsDefined() + e["uuid"].IsDefined() + e["model"].IsDefined() +
              e["all"].IsDefined();
  if (given != 1)
    return doc.Bad(e, "say which GPUs with exactly one of index:, uuid:, model: or all: true");
  std::vector<int> out;
  if (auto n = e["index"]) {
    int i = n.as<int>();
    if (i < 0 || i >= static_cast<int>(gpus.size()))
      return doc.Bad(n, fmt::format("no GPU {}; this machine has GPUs {}", i, IndexList(gpus)),
                     "See them: carve gpus");
    out.push_back(i);
  } else if (auto n = e["uuid"]) {
    std::string u = n.as<std::string>();
    for (const auto& g : gpus)
      if (g.uuid == u) out.push_back(g.index);
    if (out.empty()) return doc.Bad(n, "no GPU has UUID " + u, "See them: carve gpus");
  } else if (auto n = e["model"]) {
    auto m = mig::Catalog::Builtin().Lookup(n.as<std::string>());
    if (!m.ok()) return doc.Bad(n, m.status().message(), m.status().hint());
    for (const auto& g : gpus)
      if (g.model == *m) out.push_back(g.index);
    if (out.empty())
      return doc.Bad(n, fmt::format("this machine has no {} GPU", (*m)->alias),
                     "See them: carve gpus");
  } else {
    if (!e["all"].as<bool>()) return doc.Bad(e["all"], "all: may only be true");
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

Result<SliceSpec> ParseSlice(const Doc& doc, const YAML::Node& n, const mig::GpuModel& model) {
  if (n.IsScalar()) return SliceFromText(model, n.as<std::string>());
  CARVE_RETURN_IF_ERROR(CheckKeys(doc, n, {"slice", "compute"}));
  if (!n["slice"]) return doc.Bad(n, "a slice given as a mapping needs slice: PROFILE[@START]");
  CARVE_ASSIGN_OR_RETURN(SliceSpec s, SliceFromText(model, n["slice"].as<std::string>()));
  if (!s.cis[0]->is_default)
    return doc.Bad(n["slice"], "give the compute instances under compute:, not in the slice name");
  if (auto c = n["compute"]) {
    if (!c.IsSequence()) return doc.Bad(c, "compute: is a list, e.g. [1c, 1c, 1c]");
    s.cis.clear();
    for (const auto& item : c) {
      CARVE_ASSIGN_OR_RETURN(const mig::ComputeProfile* cp,
                             mig::ResolveComputeProfile(model, *s.profile, item.as<std::string>()));
      s.cis.push_back(cp);
    }
    std::sort(s.cis.begin(), s.cis.end(), [](auto* a, auto* b) { return a->id < b->id; });
  }
  return s;
}

Result<GpuLayout> ParseLayout(const Doc& doc, const YAML::Node& e, const device::Gpu& gpu) {
  GpuLayout l{gpu.index, gpu.model, true, {}, doc.At(e)};
  if (auto m = e["mig"]) l.mig = m.as<bool>();
  auto slices = e["slices"];
  if (!l.mig && slices && slices.size() > 0)
    return doc.Bad(slices, "mig: off and slices contradict each other",
                   "Drop the slices or say mig: on.");
  if (!e["mig"] && !slices) return doc.Bad(e, "say mig: on|off, slices: […], or both");
  if (!slices) return l;
  if (!slices.IsSequence()) return doc.Bad(slices, "slices: is a list, e.g. [3g.40gb@4, 1g.10gb]");
  if (!gpu.model || !gpu.model->mig)
    return doc.Bad(e, fmt::format("GPU {} ({}) does not support MIG", gpu.index, gpu.name));
  for (const auto& n : slices) {
    auto s = ParseSlice(doc, n, *gpu.model);
    if (!s.ok())
      return doc.Bad(n, fmt::format("GPU {}: {}", gpu.index, s.status().message()),
                     s.status().hint());
    l.slices.push_back(*s);
  }
  return l;
}

Result<Layouts> LoadGpus(const Doc& doc, const YAML::Node& list,
                         const std::vector<device::Gpu>& gpus) {
  if (!list.IsSequence()) return doc.Bad(list, "gpus: is a list of GPU entries");
  std::map<int, GpuLayout> by_gpu;
  for (const auto& e : list) {
    CARVE_RETURN_IF_ERROR(CheckKeys(doc, e, {"index", "uuid", "model", "all", "mig", "slices"}));
    CARVE_ASSIGN_OR_RETURN(std::vector<int> sel, Select(doc, e, gpus));
    for (int i : sel) {
      if (by_gpu.count(i))
        return doc.Bad(e, fmt::format("GPU {} already has a layout, from {}", i, by_gpu[i].source),
                       "Give each GPU one entry.");
      CARVE_ASSIGN_OR_RETURN(GpuLayout l, ParseLayout(doc, e, gpus[i]));
      by_gpu[i] = l;
    }
  }
  Layouts out;
  for (auto& [i, l] : by_gpu) out.push_back(std::move(l));
  return out;
}

Result<Layouts> Load(const Doc& doc, const YAML::Node& root, const std::vector<device::Gpu>& gpus) {
  CARVE_RETURN_IF_ERROR(
      CheckKeys(doc, root, {"version", "currency", "gpus", "fleet", "models", "gateway"}));
  if (!root["version"]) return doc.Bad(root, "missing version: v1");
  if (root["version"].as<std::string>() != "v1")
    return doc.Bad(root["version"],
                   fmt::format("unknown version '{}'", root["version"].as<std::string>()),
                   "This carve reads version: v1.");
  if (!root["gpus"])
    return doc.Bad(
        root, "no gpus: section, so there is no layout to apply",
        root["models"]
            ? fmt::format("Plan the models into layouts first: carve plan {0} --write layout.yaml, "
                          "then carve apply layout.yaml (or carve up {0}, which does both).",
                          doc.path)
            : "Add one (see docs/apply.md), or write the current one with carve export.");
  return LoadGpus(doc, root["gpus"], gpus);
}

std::string SliceText(const SliceSpec& s) {
  if (s.cis.size() == 1) return s.Name();
  std::string cis;
  for (const auto* c : s.cis) cis += (cis.empty() ? "" : ", ") + CiShortName(*c);
  return fmt::format("{{slice: {}@{}, compute: [{}]}}", s.profile->name, *s.start, cis);
}

}  // namespace

Result<Layouts> LoadCarveLayout(std::string_view text, const std::string& path,
                                const std::vector<device::Gpu>& gpus) {
  Doc doc{path};
  try {
    return Load(doc, YAML::Load(std::string(text)), gpus);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(fmt::format("{}:{}: {}", path, e.mark.line + 1, e.msg));
  }
}

Result<Layouts> LoadLayoutFile(std::string_view text, const std::string& path,
                               const std::string& config, const std::vector<device::Gpu>& gpus) {
  bool mig_parted = false;
  try {
    YAML::Node root = YAML::Load(std::string(text));
    mig_parted = root.IsMap() && root["mig-configs"].IsDefined();
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(fmt::format("{}:{}: {}", path, e.mark.line + 1, e.msg));
  }
  if (mig_parted) return LoadMigParted(text, path, config, gpus);
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

Status CheckKeys(const Doc& doc, const YAML::Node& map,
                 std::initializer_list<std::string_view> keys, std::string_view unknown_note) {
  if (!map.IsMap()) return doc.Bad(map, "expected a mapping (key: value)");
  std::string known;
  for (auto k : keys) known += (known.empty() ? "" : ", ") + std::string(k);
  for (const auto& kv : map) {
    std::string k = kv.first.as<std::string>();
    if (std::find(keys.begin(), keys.end(), k) != keys.end()) continue;
    if (!unknown_note.empty())
      return doc.Bad(kv.first, fmt::format("unexpected field '{}' ({})", k, unknown_note));
    return doc.Bad(kv.first, fmt::format("unknown key '{}'", k), "Known keys here: " + known + ".");
  }
  return Status::Ok();
}

}  // namespace carve::apply
