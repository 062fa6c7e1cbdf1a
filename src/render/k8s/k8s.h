// `carve render k8s`: the plan as Kubernetes objects and the scripts around
// them, for the GPU Operator (MIG manager + device plugin in `mixed` or
// `single`), self-managed nodes or Karpenter pools. Pure functions of the
// cluster view (cluster.h) and the spec; the CLI writes the files.
// docs/kubernetes.md explains every file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "render/k8s/cluster.h"
#include "render/k8s/yaml_out.h"
#include "spec/spec.h"

namespace carve::render::k8s {

// Labels carve sets on a node: the MIG manager's config selector, and carve's
// own layout label that workloads and pools select on (also on nodes the MIG
// manager does not touch).
inline constexpr const char* kMigConfigLabel = "nvidia.com/mig.config";
inline constexpr const char* kLayoutLabel = "carve.dev/layout";
inline constexpr int kModelPort = 8000;
// Scripts name a node of a fleet planned without node names this way.
inline constexpr const char* kNodePlaceholder = "\"${NODE:?set NODE to the name of the GPU node}\"";

// mig-parted v1: one named config per MIG-capable node layout.
Json MigPartedConfig(const Cluster& cluster);
// The ConfigMap the GPU Operator's MIG manager reads (key config.yaml).
Json MigConfigMap(const Cluster& cluster, const Options& options);
// `kubectl label node …` lines, one per node with a layout.
std::string NodeLabelList(const Cluster& cluster);
std::string NodeLabelScript(const Cluster& cluster);

// Shared slices: the device plugin's time-slicing configs, one per node layout
// with shared slices (key: the layout name, selected by the node label
// nvidia.com/device-plugin.config), in one ConfigMap the ClusterPolicy's
// devicePlugin.config.name (or the plugin's own config.name) names; none
// when no slice is shared.
inline constexpr const char* kDevicePluginConfigMap = "carve-device-plugin-config";
inline constexpr const char* kDevicePluginConfigLabel = "nvidia.com/device-plugin.config";
Json DevicePluginConfig(const NodeLayout& layout);
std::optional<Json> DevicePluginConfigMap(const Cluster& cluster, const Options& options);

// Dynamic Resource Allocation (--dra, dra.cpp): per workload on a layout carve
// chose, a ResourceClaimTemplate (resource.k8s.io/v1) asking NVIDIA's DRA
// driver for one device of class mig.nvidia.com whose profile attribute is
// the slice's (CEL), or `gpus` devices of class gpu.nvidia.com; its pods
// claim it as kClaimName. A fixed pool's workloads keep their provider's
// extended resource.
inline constexpr const char* kClaimName = "gpu";
bool Claimed(const Workload& w, const Options& options);
Json ClaimTemplate(const Workload& w, const Options& options);
// Time-sliced slices have no claim form here: refused under --dra.
Status CheckClaims(const Cluster& cluster, const Options& options);

// One Deployment per workload and one Service per model (ResourceClaimTemplates first under --dra).
// Fails for an engine that has no image (command, echo without `image:`).
Result<std::vector<Json>> ModelObjects(const Cluster& cluster, const plan::Plan& plan,
                                       const spec::Spec& spec, const Options& options);
// A model's Service (a DNS-1035 label) and its in-cluster URL.
std::string ServiceName(const std::string& model);
std::string ServiceUrl(const std::string& model, const Options& options);

// The in-cluster gateway: config (ConfigMap), key hashes (Secret), Deployment, Service.
Result<std::vector<Json>> GatewayObjects(const Cluster& cluster, const plan::Plan& plan,
                                         const spec::Spec& spec, const Options& options);
// The gateway's config file (listen, models with their Service URLs, limits
// and other settings from the spec); keys go to the Secret, not here.
Result<Json> GatewayConfig(const plan::Plan& plan, const spec::Spec& spec, const Options& options);

// The rollout: label → wait for mig.config.state=success → restart the
// device plugin → apply workloads, with drains for changed layouts.
std::string RolloutScript(const Cluster& cluster, const Options& options);
std::string Runbook(const Cluster& cluster, const plan::Plan& plan, const Options& options);

// Karpenter: a NodePool + node class per node layout (EC2NodeClass, or
// ExoscaleNodeClass under --cloud exoscale); and the plain values a
// managed-pool UI asks for.
std::vector<Json> KarpenterObjects(const Cluster& cluster, const Options& options);
std::string PoolTable(const Cluster& cluster, const Options& options);
// The one profile every GPU of the layout holds, or "" when it mixes.
std::string UniformProfile(const NodeLayout& layout);
// The pool for a layout: its nodes carry the layout's labels and the GPU taint.
Json NodePool(const NodeLayout& layout, const Options& options);

// Exoscale (exoscale.cpp): its node agent carves each GPU full of one profile
// per GPU model, under the device plugin's `single` strategy, so it holds a
// fixed pool's layout when it names the GPU (A30, RTX PRO 6000); other layouts
// are left to the GPU Operator's MIG manager (node label nvidia.com/mig.config).
bool ExoscaleCarves(const NodeLayout& layout);
// The node agent's MIG settings (TOML) for the layout; "" when it cannot carve it.
std::string ExoscaleNodeAgentSettings(const NodeLayout& layout);
Json ExoscaleNodeClass(const NodeLayout& layout);
Json ExoscaleRequirements(const NodeLayout& layout);

// Every file, path relative to the output directory, in a stable order.
struct File {
  std::string path;
  std::string text;
  bool executable = false;
};
Result<std::vector<File>> RenderK8s(const plan::Plan& plan, const spec::Spec& spec,
                                    const Options& options);
// The objects to `kubectl apply` (no pools, no scripts) as one multi-document YAML.
Result<std::string> RenderK8sObjects(const plan::Plan& plan, const spec::Spec& spec,
                                     const Options& options);

}  // namespace carve::render::k8s
