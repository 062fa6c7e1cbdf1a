#include "apply/mig_parted.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>

#include "mig/profile_ref.h"
#include "util/yaml_fields.h"

namespace carve::apply {
namespace {

constexpr std::string_view kNote =
    "mig-parted v1 rejects it too; its keys are version, mig-configs, and in each entry devices, "
    "device-filter, mig-enabled, mig-devices.";

// "0x233010DE" (any case; a ":0x…" subsystem part is ignored).
Result<uint32_t> ParseDeviceId(const std::string& path, const YAML::Node& n) {
  std::string s = n.IsScalar() ? n.Scalar() : "…";
  std::string dev = s.substr(0, s.find(':'));
  try {
    size_t used = 0;
    unsigned long v = std::stoul(dev, &used, 16);
    if (used == dev.size() && v <= 0xFFFFFFFFul) return static_cast<uint32_t>(v);
  } catch (...) {
  }
  return yaml::ErrorAt(path, n, fmt::format("'{}' is not a PCI device id", s),
                       "Write it like 0x233010DE.");
}

Result<bool> Selects(const std::string& path, const YAML::Node& e, const device::Gpu& g) {
  const YAML::Node devices = e["devices"];
  bool in = false;
  const auto bad = [&](const YAML::Node& at) {
    return yaml::ErrorAt(path, at, "devices: is all or a list of GPU indices",
                         "Write devices: all, or e.g. devices: [0, 1].");
  };
  if (devices.IsScalar()) {
    if (devices.Scalar() != "all") return bad(devices);
    in = true;
  } else if (devices.IsSequence()) {
    for (const auto& d : devices) {
      int index = 0;
      if (!d.IsScalar() || !YAML::convert<int>::decode(d, index)) return bad(d);
      in = in || index == g.index;
    }
  } else {
    return bad(devices);
  }
  const YAML::Node filter = e["device-filter"];
  if (!in || !filter) return in;
  std::vector<YAML::Node> ids;
  if (filter.IsSequence()) {
    for (const auto& f : filter) ids.push_back(f);
  } else {
    ids.push_back(filter);
  }
  for (const auto& f : ids) {
    CARVE_ASSIGN_OR_RETURN(uint32_t id, ParseDeviceId(path, f));
    if (id == g.pci_device_id) return true;
  }
  return false;
}

// "1c.3g.40gb": 3 → GPU instances of 3g.40gb holding as many 1c as fit each.
Status AddDevices(const mig::GpuModel& model, const std::string& name, int count, GpuLayout& l) {
  CARVE_ASSIGN_OR_RETURN(mig::ProfileRef ref, mig::ResolveProfile(model, name));
  const mig::ComputeProfile* cp = ref.ci ? ref.ci : model.DefaultComputeProfile(*ref.gi);
  int per_gi =
      cp->is_default ? 1 : std::max(1, std::min(cp->max_instances, ref.gi->slices / cp->slices));
  for (int left = count; left > 0; left -= per_gi)
    l.slices.push_back(SliceSpec{
        ref.gi, std::nullopt, std::vector<const mig::ComputeProfile*>(std::min(left, per_gi), cp)});
  return Status::Ok();
}

Result<GpuLayout> EntryLayout(const std::string& path, const YAML::Node& e, const device::Gpu& g) {
  GpuLayout l{g.index, g.model, false, {}, yaml::WhereOf(path, e).str()};
  CARVE_RETURN_IF_ERROR(yaml::Fields(e, path, "a mig-config entry").Bool("mig-enabled", &l.mig));
  const YAML::Node devs = e["mig-devices"];
  if (l.mig && !devs)
    return yaml::ErrorAt(path, e, "mig-devices: is required when mig-enabled is true");
  if (!l.mig && devs && devs.size() > 0)
    return yaml::ErrorAt(path, devs, "mig-devices given while mig-enabled is false");
  if (!l.mig) return l;
  if (!g.model || !g.model->mig)
    return yaml::ErrorAt(path, e, fmt::format("GPU {} ({}) does not support MIG", g.index, g.name),
                         "Add a device-filter, or list devices explicitly.");
  if (!devs.IsMap()) return yaml::ErrorAt(path, devs, "mig-devices: maps a profile to a count");
  const yaml::Fields counts(devs, path, "mig-devices");
  for (const auto& kv : devs) {
    int count = 0;
    CARVE_RETURN_IF_ERROR(counts.Whole(kv.first.Scalar(), &count));
    Status st = AddDevices(*g.model, kv.first.Scalar(), count, l);
    if (!st.ok())
      return yaml::ErrorAt(path, kv.first, fmt::format("GPU {}: {}", g.index, st.message()),
                           st.hint());
  }
  return l;
}

Result<YAML::Node> PickConfig(const std::string& path, const YAML::Node& configs,
                              const std::string& name) {
  if (!configs.IsMap() || configs.size() == 0)
    return yaml::ErrorAt(path, configs, "mig-configs: needs at least one config");
  std::string names;
  for (const auto& kv : configs) names += (names.empty() ? "" : ", ") + kv.first.Scalar();
  if (name.empty() && configs.size() == 1) return configs.begin()->second;
  if (name.empty())
    return Status::InvalidArgument(
        fmt::format("{} has several mig-configs; choose one with -c NAME", path),
        "It has: " + names + ".");
  if (!configs[name])
    return yaml::ErrorAt(path, configs, fmt::format("no mig-config named '{}'", name),
                         "It has: " + names + ".");
  return configs[name];
}

Result<Layouts> Load(const std::string& path, const YAML::Node& root, const std::string& config,
                     const std::vector<device::Gpu>& gpus) {
  CARVE_RETURN_IF_ERROR(
      yaml::Fields(root, path, "the mig-parted config").Check({"version", "mig-configs"}, kNote));
  if (!root["version"] || !root["version"].IsScalar() || root["version"].Scalar() != "v1")
    return yaml::ErrorAt(path, root, "mig-parted configs carve reads say version: v1");
  CARVE_ASSIGN_OR_RETURN(YAML::Node entries, PickConfig(path, root["mig-configs"], config));
  if (!entries.IsSequence() || entries.size() == 0)
    return yaml::ErrorAt(path, entries, "a mig-config is a list of entries");
  std::map<int, GpuLayout> by_gpu;
  for (const auto& e : entries) {
    CARVE_RETURN_IF_ERROR(
        yaml::Fields(e, path, "a mig-config entry")
            .Check({"devices", "device-filter", "mig-enabled", "mig-devices"}, kNote));
    if (!e["devices"] || !e["mig-enabled"])
      return yaml::ErrorAt(path, e, "devices: and mig-enabled: are required");
    for (const auto& g : gpus) {
      CARVE_ASSIGN_OR_RETURN(bool sel, Selects(path, e, g));
      if (!sel) continue;
      if (by_gpu.count(g.index))
        return yaml::ErrorAt(
            path, e,
            fmt::format("GPU {} is also selected by the entry at {}", g.index,
                        by_gpu[g.index].source),
            "carve wants one entry per GPU (mig-parted would let the later one win).");
      CARVE_ASSIGN_OR_RETURN(GpuLayout l, EntryLayout(path, e, g));
      by_gpu[g.index] = l;
    }
  }
  Layouts out;
  for (auto& [i, l] : by_gpu) out.push_back(std::move(l));
  return out;
}

// mig-parted's device strings and counts for one GPU.
std::map<std::string, int> Counts(const device::Gpu& g, std::string& lost) {
  std::map<std::string, int> out;
  for (const auto& s : LayoutOf(g).slices) {
    if (s.cis.empty()) lost += fmt::format(" {}@{}", s.profile->name, *s.start);
    for (const auto* c : s.cis) ++out[c->NameIn(*s.profile)];
  }
  return out;
}

}  // namespace

Result<Layouts> LoadMigParted(std::string_view text, const std::string& path,
                              const std::string& config, const std::vector<device::Gpu>& gpus) {
  CARVE_ASSIGN_OR_RETURN(YAML::Node root, yaml::Parse(text, path));
  try {
    CARVE_RETURN_IF_ERROR(yaml::CheckNoDuplicateKeys(path, root));
    return Load(path, root, config, gpus);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(fmt::format("{}:{}: {}", path, e.mark.line + 1, e.msg));
  }
}

std::string WriteMigParted(const std::vector<device::Gpu>& gpus, const std::string& name) {
  std::map<std::pair<bool, std::map<std::string, int>>, std::vector<int>> groups;
  std::string notes;
  for (const auto& g : gpus) {
    if (!g.model || !g.mig_capable) {
      notes += fmt::format("# GPU {} ({}) has no MIG; left out.\n", g.index, g.name);
      continue;
    }
    std::string lost;
    auto counts = g.mig.current ? Counts(g, lost) : std::map<std::string, int>{};
    if (!lost.empty())
      notes +=
          fmt::format("# GPU {}: GPU instances without compute instances (not expressible):{}\n",
                      g.index, lost);
    groups[{g.mig.current, counts}].push_back(g.index);
  }
  std::string out =
      "# carve export --format mig-parted: what each GPU holds now (counts only;\n"
      "# mig-parted has no placements).\n" +
      notes + fmt::format("version: v1\nmig-configs:\n  {}:\n", name);
  for (const auto& [key, indices] : groups) {
    std::string list;
    for (int i : indices) list += (list.empty() ? "" : ", ") + std::to_string(i);
    out += fmt::format("    - devices: [{}]\n      mig-enabled: {}\n", list, key.first);
    if (!key.first) continue;
    out += key.second.empty() ? "      mig-devices: {}\n" : "      mig-devices:\n";
    for (const auto& [dev, n] : key.second) out += fmt::format("        \"{}\": {}\n", dev, n);
  }
  return out;
}

}  // namespace carve::apply
