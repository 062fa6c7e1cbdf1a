// The node side: the mig-parted config the MIG manager applies, and the node
// labels that select it.
#include <fmt/format.h>

#include "render/k8s/k8s.h"

namespace carve::render::k8s {
namespace {

Json EntryJson(const MigEntry& e) {
  Json j;
  if (!e.device_filter.empty()) {
    Json f = Json::array();
    for (uint32_t id : e.device_filter) f.push_back(fmt::format("0x{:08X}", id));
    j["device-filter"] = f.size() == 1 ? f[0] : f;
  }
  j["devices"] = e.devices.empty() ? Json("all") : Json(e.devices);
  j["mig-enabled"] = e.mig_enabled;
  if (e.mig_enabled) {
    j["mig-devices"] = Json::object();
    for (const auto& [profile, count] : e.counts) j["mig-devices"][profile] = count;
  }
  return j;
}

std::string NodeArg(const std::string& name) { return name.empty() ? kNodePlaceholder : name; }

// A fixed pool's node gets only the device plugin's config label, and only when it shares slices.
std::string LabelArgs(const Cluster& c, const Node& n) {
  std::string out = n.pool.fixed() ? "" : fmt::format("{}={}", kLayoutLabel, n.layout);
  if (n.mig_capable && !n.pool.fixed()) out += fmt::format(" {}={}", kMigConfigLabel, n.layout);
  if (!n.time_slices.empty())
    out += fmt::format("{}{}={}", out.empty() ? "" : " ", kDevicePluginConfigLabel, n.layout);
  return out;
}

}  // namespace

Json MigPartedConfig(const Cluster& cluster) {
  Json configs = Json::object();
  for (const auto& l : cluster.layouts) {
    if (!l.mig_capable) continue;
    Json entries = Json::array();
    for (const auto& e : l.entries) entries.push_back(EntryJson(e));
    configs[l.name] = entries;
  }
  return Json{{"version", "v1"}, {"mig-configs", configs}};
}

Json MigConfigMap(const Cluster& cluster, const Options& options) {
  Cluster managed;  // a fixed pool's nodes are carved by their provider, not the MIG manager
  for (const auto& l : cluster.layouts)
    if (!l.pool.fixed()) managed.layouts.push_back(l);
  std::string text =
      "# Written by carve render k8s: one config per node layout; select one with the\n"
      "# node label nvidia.com/mig.config=NAME. mig-parted keeps counts, not placements:\n"
      "# the MIG manager places the slices (entries follow carve's placement order).\n" +
      ToYaml(MigPartedConfig(managed));
  return Json{{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata",
               {{"name", options.mig_configmap},
                {"namespace", options.operator_ns},
                {"labels", {{"app.kubernetes.io/managed-by", "carve"}}}}},
              {"data", {{"config.yaml", text}}}};
}

std::string NodeLabelList(const Cluster& cluster) {
  std::string out;
  for (const auto& n : cluster.nodes)
    if (!n.layout.empty() && (!n.pool.fixed() || !n.time_slices.empty()))
      out += fmt::format("kubectl label node {} --overwrite {}\n", NodeArg(n.name),
                         LabelArgs(cluster, n));
  return out;
}

std::string NodeLabelScript(const Cluster& cluster) {
  return "#!/usr/bin/env bash\n"
         "# Written by carve render k8s: labels each node with its layout. The GPU Operator's MIG\n"
         "# manager repartitions a node when its nvidia.com/mig.config changes; it does not drain\n"
         "# workloads. rollout.sh does the same labelling with drains and waits.\n"
         "set -euo pipefail\n" +
         NodeLabelList(cluster);
}

}  // namespace carve::render::k8s
