// Exoscale's Karpenter node class (karpenter.exoscale.com/v1 ExoscaleNodeClass)
// per node layout, and the MIG settings Exoscale's node agent documents for
// its user data (settings.kubelet-device-plugins.nvidia: device-partitioning-
// strategy "mig" and a profile per GPU model, keyed "<model>.<memory>g"),
// which carve uses for fixed pools: the agent carves what such a pool holds.
#include <fmt/format.h>

#include <map>

#include "render/k8s/k8s.h"

namespace carve::render::k8s {
namespace {

// The node agent's key for each GPU model it partitions (its documentation
// names the A30 and the RTX PRO 6000).
const std::map<std::string, std::string> kAgentKeys = {{"a30", "a30.24g"},
                                                       {"rtx-pro-6000", "rtxpro6000.96g"}};

}  // namespace

// The agent fills every GPU with its profile and its device plugin runs the
// `single` strategy: exactly a fixed pool, and nothing else carve plans.
bool ExoscaleCarves(const NodeLayout& l) {
  return l.pool.fixed() && !UniformProfile(l).empty() && kAgentKeys.count(l.model->alias) > 0;
}

std::string ExoscaleNodeAgentSettings(const NodeLayout& l) {
  if (!ExoscaleCarves(l)) return "";
  return fmt::format(
      "[settings.kubelet-device-plugins.nvidia]\ndevice-partitioning-strategy = \"mig\"\n\n"
      "[settings.kubelet-device-plugins.nvidia.mig.profile]\n\"{}\" = \"{}\"\n",
      kAgentKeys.at(l.model->alias), UniformProfile(l));
}

// Exoscale's GPU instance types are not in carve's catalogue: INSTANCE_TYPE
// is for the person to fill in (exo compute instance-type list).
Json ExoscaleRequirements(const NodeLayout& l) {
  return Json::array({{{"key", "karpenter.sh/capacity-type"},
                       {"operator", "In"},
                       {"values", Json::array({"on-demand"})}},
                      {{"key", "node.kubernetes.io/instance-type"},
                       {"operator", "In"},
                       {"values", Json::array({"INSTANCE_TYPE"})}}});
}

// The published v1 schema has no field for the node agent's settings, so the
// class carries them as an annotation (and pools.md the pool flag that sets
// the same profile on an SKS node pool).
Json ExoscaleNodeClass(const NodeLayout& l) {
  Json annotations{{"carve.dev/device-partitioning-strategy", ExoscaleCarves(l) ? "mig" : "none"},
                   {"carve.dev/gpu", l.model->alias}};
  if (ExoscaleCarves(l)) {
    annotations["carve.dev/mig-profile"] = UniformProfile(l);
    annotations["carve.dev/node-agent-settings"] = ExoscaleNodeAgentSettings(l);
  } else if (l.mig_capable) {
    annotations["carve.dev/partitioned-by"] =
        "the GPU Operator's MIG manager (nvidia.com/mig.config)";
  }
  Json spec{{"imageTemplateSelector", {{"variant", "nvidia"}}}, {"diskSize", 200}};
  return Json{{"apiVersion", "karpenter.exoscale.com/v1"},
              {"kind", "ExoscaleNodeClass"},
              {"metadata", {{"name", l.name}, {"annotations", annotations}}},
              {"spec", spec}};
}

}  // namespace carve::render::k8s
