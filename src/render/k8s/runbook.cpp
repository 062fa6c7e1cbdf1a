// RUNBOOK.md: the rollout for people, with this plan's nodes and layouts.
#include <fmt/format.h>

#include "render/k8s/k8s.h"

namespace carve::render::k8s {
namespace {

std::string LayoutText(const NodeLayout& l) {
  std::string out;
  for (const auto& e : l.entries)
    out += fmt::format("{}GPU {}: {}", out.empty() ? "" : "; ",
                       e.devices.empty() ? "all" : fmt::format("{}", fmt::join(e.devices, ",")),
                       e.Text());
  return out;
}

std::string NodeTable(const Cluster& c, const Options& o) {
  std::string out =
      "| node | GPUs | layout now | planned layout | change |\n| --- | --- | --- | --- | --- |\n";
  for (const auto& n : c.nodes) {
    std::string now = n.current.empty() ? "(none)" : n.current;
    std::string change =
        n.layout.empty() ? "unused by the plan; left alone"
        : n.pool.fixed() ? fmt::format("none: pool {} is fixed at {} (its provider's)", n.pool.name,
                                       n.pool.profile->name)
        : !n.mig_capable ? "label only (not MIG-capable: whole GPUs)"
        : o.op == Operator::kNone ? "partitioned by its node class (karpenter.yaml)"
        : n.current == n.layout   ? "none"
                                  : "drain, repartition";
    std::string name =
        n.name.empty() ? n.pool.name.empty() ? "$NODE" : "pool " + n.pool.name : n.name;
    out += fmt::format("| {} | {}× {} | {} | {} | {} |\n", name, n.gpus.size(),
                       n.gpus.front()->gpu.model->alias, now, n.layout.empty() ? "—" : n.layout,
                       change);
  }
  return out;
}

constexpr const char* kSteps = R"MD(## Steps (what rollout.sh does)

1. **Config.** `kubectl apply -f mig-config.yaml` and point the GPU Operator at it:
   ClusterPolicy `spec.migManager.config.name={cm}` and `spec.mig.strategy={strategy}`.
2. **Per node, one at a time.** If its layout changes: `kubectl cordon`, then `kubectl drain
   --ignore-daemonsets` — the MIG manager does **not** drain; it wipes and recreates every GPU
   whose counts change, and a process on a slice makes that fail.
3. **Label.** `nvidia.com/mig.config=<layout>` (the MIG manager's selector) and
   `carve.dev/layout=<layout>` (what the Deployments and pools select on).
4. **Wait** for `nvidia.com/mig.config.state=success` (`pending` → `success`/`failed`; a
   `rebooting` step on clouds where a reset is impossible).
5. **Restart the device plugin** pod on the node: it does not pick up new MIG devices
   (NVIDIA/k8s-device-plugin#992). Then check the node's allocatable resources equal the plan.
6. **Stale resources.** Kubelet keeps resources that dropped to zero (`nvidia.com/mig-…: 0`);
   the script prints the `kubectl patch node … --subresource=status` that removes each.
7. `kubectl uncordon`, next node. Last: `kubectl apply -f namespace.yaml -f models.yaml -f
   gateway.yaml` and wait for every rollout.

## If the MIG manager wedges

`nvidia.com/mig.config.state` stays `pending` and `nvidia.com/gpu.deploy.*` labels stay
`paused-for-mig-change` when a GPU client did not stop in time (NVIDIA/gpu-operator#2833); the
node then advertises no GPUs. rollout.sh stops after `TIMEOUT` seconds (default 900) and says
so. To recover: find what still holds the GPUs (`kubectl get pods -A -o wide
--field-selector spec.nodeName=NODE`, host services such as DCGM, `nvidia-persistenced`),
stop it, then delete the node's `nvidia-mig-manager` pod so it retries; if the operands stay
paused, set each `nvidia.com/gpu.deploy.<operand>` label back to `true`. Run rollout.sh again:
nodes already at their layout are skipped.

## What carve leaves to the GPU Operator

mig-parted configs hold counts, not placements: the MIG manager decides where each slice
goes. carve's plan (`carve plan`) shows where carve would place them; the ConfigMap lists
profiles in that order. Under `single` every GPU of a node must hold one profile; carve
refuses a plan that breaks this rather than render a node GFD would label `…-MIG-INVALID`.
)MD";

std::string FixedPools(const Cluster& c) {
  std::string out;
  for (const auto& l : c.layouts) {
    if (!l.pool.fixed()) continue;
    auto [key, value] = l.pool.Label();
    out += fmt::format(
        "- **{}** ({}): every GPU already carved into {} by its provider, under the device "
        "plugin's `single` strategy (nodes advertise `nvidia.com/gpu`, one per slice). carve "
        "writes "
        "no MIG config and no labels for it; its pods request `nvidia.com/gpu: 1` and select "
        "`{}: {}`.{}\n",
        l.pool.name, l.model->alias, l.entries.front().Text(), key, value,
        key == "carve.dev/pool"
            ? fmt::format(" Give the pool's nodes that label (a node label in "
                          "the provider's pool settings, or `kubectl label node "
                          "NODE carve.dev/pool={}`).",
                          value)
            : "");
  }
  return out.empty() ? "" : "\n## Fixed pools\n\n" + out;
}

std::string Dra(const Options& o) {
  if (!o.dra) return "";
  return "\n## Dynamic Resource Allocation\n\n"
         "Pods claim their slices through NVIDIA's DRA driver: one ResourceClaimTemplate per "
         "Deployment "
         "(`resource.k8s.io/v1`, in models.yaml) asking for one device of class `mig.nvidia.com` "
         "whose "
         "`gpu.nvidia.com` attribute `profile` is the planned one (a CEL selector), or for whole "
         "GPUs of class "
         "`gpu.nvidia.com`; a fixed pool's pods keep its provider's `nvidia.com/gpu`. The layouts "
         "stay carve's "
         "(static MIG, applied as above): the driver only publishes the MIG devices that exist "
         "(ResourceSlices) "
         "and hands them to claims.\n\n"
         "**One agent only may own a GPU's layout.** DRA's dynamic MIG (the driver's `DynamicMIG` "
         "feature gate: "
         "it creates and destroys MIG devices as claims come and go), the GPU Operator's MIG "
         "manager, and carve "
         "(`carve apply` on a host) each rewrite a GPU's slices and none knows about the others: "
         "with more than "
         "one, slices vanish under running pods. Here the MIG manager applies carve's layouts, so "
         "keep "
         "`DynamicMIG` off on these nodes (and run no `carve apply` there).\n";
}

std::string SharedSlices(const Cluster& c) {
  std::string out;
  for (const auto& l : c.layouts)
    for (const auto& [resource, k] : l.time_slices)
      out += fmt::format("- **{}**: every `{}` slice is advertised as {} × `{}.shared`\n", l.name,
                         resource, k, resource);
  if (out.empty()) return "";
  return fmt::format(
      "\n## Shared slices\n\n{}\nModels with `share: true` run on one slice together through the "
      "device "
      "plugin's time-slicing (`device-plugin-config.yaml`: ConfigMap `{}`, one config per layout, "
      "chosen by "
      "the node label `{}=<layout>`; the ClusterPolicy's `devicePlugin.config.name` names it). "
      "**Time-slices share the slice's memory and compute with no isolation inside it**: each "
      "engine is told "
      "its memory fraction (`--gpu-memory-utilization`), one that outgrows it starves the others, "
      "and a fault "
      "in one can take down every process on the slice. The MIG slice itself stays isolated from "
      "the rest "
      "of the GPU. The plugin hands shares out in any order, so carve renders sharing only where "
      "any pods "
      "that could land on one slice fit it.\n",
      out, kDevicePluginConfigMap, kDevicePluginConfigLabel);
}

constexpr const char* kStepsNoOperator = R"MD(## Steps (what rollout.sh does)

This cluster runs **no GPU Operator**: its GPU nodes come with their device plugin (a
managed node pool), so there is no MIG manager to partition GPUs and no ClusterPolicy to
patch. carve writes no mig-parted ConfigMap and labels no node for it.

1. **Slices.** Every fixed pool's GPUs are already carved by its provider (see "Fixed
   pools"); nodes that Karpenter brings up are partitioned by their node class
   (karpenter.yaml). Nothing is drained or repartitioned.
2. **Shared slices**, if any: `kubectl apply -f device-plugin-config.yaml` into the
   namespace the device plugin runs in (`OPERATOR_NS`), point the plugin at it (its Helm
   chart: `--set config.name={plugin_cm}`), and label each node
   `nvidia.com/device-plugin.config=<layout>`.
3. **Check** each named node advertises what the plan places there (`nvidia.com/gpu` per
   slice under `single`).
4. `kubectl apply -f namespace.yaml -f models.yaml -f gateway.yaml` and wait for every
   rollout.
)MD";

}  // namespace

std::string Runbook(const Cluster& c, const plan::Plan& plan, const Options& o) {
  std::string out = "# Rollout runbook\n\nWritten by `carve render k8s`";
  out += o.spec_file.empty() ? "" : fmt::format(" from `{}`", o.spec_file);
  out += o.op == Operator::kNone ? ". No GPU Operator: each node's own device plugin advertises "
                                   "its slices. Run `./rollout.sh` "
                                   "(environment: `OPERATOR_NS`, where the device plugin runs), or "
                                   "follow the steps by hand.\n\n## Nodes\n\n"
                                 : fmt::format(
                                       ". Strategy: `{}`; NVIDIA's GPU Operator. Run "
                                       "`./rollout.sh` (environment: `TIMEOUT`, "
                                       "`DRAIN`, `OPERATOR_NS`, `CLUSTER_POLICY`), or follow the "
                                       "steps by hand.\n\n## Nodes\n\n",
                                       o.strategy == Strategy::kSingle ? "single" : "mixed");
  out += NodeTable(c, o) + "\n## Layouts\n\n| layout | GPU | slices |\n| --- | --- | --- |\n";
  for (const auto& l : c.layouts)
    out += fmt::format("| {} | {} | {} |\n", l.name, l.model->alias, LayoutText(l));
  out +=
      "\n## Workloads\n\n| Deployment | model | replicas | slice | layout |\n| --- | --- | --- | "
      "--- | --- |\n";
  for (const auto& w : c.workloads)
    out += fmt::format(
        "| {} | {} | {} | {} | {} |\n", w.name, plan.models[size_t(w.model)].name, w.replicas,
        w.profile ? w.profile->name : fmt::format("{} whole GPU(s)", w.gpus), w.layout);
  out += FixedPools(c) + SharedSlices(c) + Dra(o);
  if (o.op == Operator::kNone)
    return out + "\n" +
           fmt::format(fmt::runtime(kStepsNoOperator),
                       fmt::arg("plugin_cm", kDevicePluginConfigMap));
  return out + "\n" +
         fmt::format(fmt::runtime(kSteps), fmt::arg("cm", o.mig_configmap),
                     fmt::arg("strategy", o.strategy == Strategy::kSingle ? "single" : "mixed"));
}

}  // namespace carve::render::k8s
