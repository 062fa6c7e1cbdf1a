// The rollout, as a script and as a runbook for people: label → wait for the
// MIG manager → restart the device plugin → apply the workloads.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "render/k8s/k8s.h"

namespace carve::render::k8s {
namespace {

// Shell functions every rollout has.
constexpr const char* kPrelude = R"SH(set -euo pipefail
cd "$(dirname "$0")"
TIMEOUT=${TIMEOUT:-900}              # seconds the MIG manager gets per node
DRAIN=${DRAIN:-yes}                  # no: skip cordon/drain (only if the node runs no GPU work)
OPERATOR_NS=${OPERATOR_NS:-@OPNS@}
CLUSTER_POLICY=${CLUSTER_POLICY:-cluster-policy}
NS=@NS@
DRA=@DRA@                              # yes: slices are DRA claims, not extended resources

log() { printf 'rollout: %s\n' "$*" >&2; }
label() { kubectl get node "$1" -o "jsonpath={.metadata.labels.${2//./\\.}}"; }
allocatable() { kubectl get node "$1" -o "jsonpath={.status.allocatable.${2//./\\.}}"; }

)SH";

// The GPU Operator's side: the MIG manager's states and the device plugin's restart.
constexpr const char* kOperatorFns =
    R"SH(# The MIG manager leaves gpu.deploy.* at paused-for-mig-change and the state
# at pending when a GPU client does not stop (NVIDIA/gpu-operator#2833).
wedged() {
  log "$1: nvidia.com/mig.config.state is '$(label "$1" nvidia.com/mig.config.state)' after ${TIMEOUT}s"
  kubectl get node "$1" -o json | grep -o '"nvidia.com/gpu.deploy[^"]*": *"paused-for-mig-change"' >&2 &&
    log "$1: GPU operands are still paused: the MIG manager is wedged; see RUNBOOK.md, 'If the MIG manager wedges'"
  kubectl -n "$OPERATOR_NS" logs -l app=nvidia-mig-manager --tail=30 --prefix 2>/dev/null | grep -F "$1" >&2 || true
  return 1
}

wait_mig() {
  local deadline=$((SECONDS + TIMEOUT)) s
  while :; do
    s=$(label "$1" nvidia.com/mig.config.state)
    case "$s" in
      success) return 0 ;;
      failed) log "$1: the MIG manager reports failed; kubectl -n $OPERATOR_NS logs -l app=nvidia-mig-manager"; return 1 ;;
    esac
    (( SECONDS < deadline )) || { wedged "$1"; return 1; }
    sleep 10
  done
}

# The device plugin does not notice new MIG devices: restart it on the node.
# Under DRA the driver's kubelet plugin publishes them (ResourceSlices) instead.
restart_plugin() {
  if [ "$DRA" = yes ]; then
    log "$1: DRA: check its ResourceSlices list the planned MIG devices (kubectl get resourceslices --field-selector spec.nodeName=$1 -o yaml); restart the DRA driver's kubelet plugin on the node if not"
    return 0
  fi
  kubectl -n "$OPERATOR_NS" delete pod -l app=nvidia-device-plugin-daemonset --field-selector "spec.nodeName=$1" --wait=true
  sleep 5
  kubectl -n "$OPERATOR_NS" wait pod -l app=nvidia-device-plugin-daemonset --field-selector "spec.nodeName=$1" \
    --for=condition=Ready --timeout=300s
}

)SH";

// Per-node checks, for either.
constexpr const char* kNodeFns = R"SH(wait_allocatable() {  # node resource count
  local deadline=$((SECONDS + 300))
  until [ "$(allocatable "$1" "$2")" = "$3" ]; do
    (( SECONDS < deadline )) || { log "$1: $2 is '$(allocatable "$1" "$2")', expected $3"; return 1; }
    sleep 5
  done
}

# Kubelet keeps extended resources that dropped to zero (kubernetes#92396).
stale() {
  kubectl get node "$1" -o json | grep -o '"nvidia.com/mig-[^"]*": *"0"' | cut -d'"' -f2 | while read -r r; do
    log "$1: stale $r=0; remove: kubectl patch node $1 --subresource=status --type=json -p '[{\"op\":\"remove\",\"path\":\"/status/capacity/${r/\//~1}\"}]'"
  done
}

# A fixed pool's node: carved by its provider, so only its device plugin's
# time-slicing config is chosen (when it shares slices) and what it advertises checked.
check_node() {  # node share-config(or -) resource=count...
  local node=$1 share=$2; shift 2
  [ "$share" = - ] || kubectl label node "$node" --overwrite "nvidia.com/device-plugin.config=$share"
  for r in "$@"; do wait_allocatable "$node" "${r%=*}" "${r##*=}"; done
  log "$node: advertises what the plan places there"
}

)SH";

// A node the MIG manager partitions: drain, label, wait, restart the plugin, check.
constexpr const char* kRollNode =
    R"SH(roll_node() {  # node layout mig(yes|no) share(yes|no) resource=count...
  local node=$1 layout=$2 mig=$3 share=$4; shift 4
  if [ "$(label "$node" carve.dev/layout)" = "$layout" ] &&
     { [ "$mig" = no ] || [ "$(label "$node" nvidia.com/mig.config.state)" = success ]; }; then
    log "$node: already holds $layout"
  else
    if [ "$mig" = yes ] && [ "$DRAIN" = yes ]; then
      log "$node: cordon and drain (the MIG manager does not drain workloads)"
      kubectl cordon "$node"
      kubectl drain "$node" --ignore-daemonsets --delete-emptydir-data --timeout=600s
    fi
    local labels=("carve.dev/layout=$layout")
    [ "$mig" = yes ] && labels+=("nvidia.com/mig.config=$layout")
    [ "$share" = yes ] && labels+=("nvidia.com/device-plugin.config=$layout")
    kubectl label node "$node" --overwrite "${labels[@]}"
    if [ "$mig" = yes ]; then
      log "$node: waiting for the MIG manager (up to ${TIMEOUT}s)"
      wait_mig "$node"
      restart_plugin "$node"
    fi
  fi
  for r in "$@"; do wait_allocatable "$node" "${r%=*}" "${r##*=}"; done
  stale "$node"
  kubectl uncordon "$node"
}
)SH";

// Without the GPU Operator a named node is never repartitioned: label and check.
constexpr const char* kRollNodePlain =
    R"SH(roll_node() {  # node layout mig(no) share(yes|no) resource=count...
  local node=$1 layout=$2 share=$4; shift 4
  local labels=("carve.dev/layout=$layout")
  [ "$share" = yes ] && labels+=("nvidia.com/device-plugin.config=$layout")
  kubectl label node "$node" --overwrite "${labels[@]}"
  for r in "$@"; do wait_allocatable "$node" "${r%=*}" "${r##*=}"; done
}
)SH";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (size_t at; (at = text.find(from)) != std::string::npos;) text.replace(at, from.size(), to);
  return text;
}

// What the device plugin should advertise on the node once the layout is applied.
std::map<std::string, int> Expected(const Node& n, Strategy s) {
  std::map<std::string, int> out;
  auto add = [&](const std::string& resource) {
    auto shared = n.time_slices.find(resource);
    if (shared == n.time_slices.end())
      ++out[resource];
    else
      out[resource + ".shared"] += shared->second;
  };
  for (const auto* g : n.gpus) {
    if (!g->mig || !g->used()) {
      add("nvidia.com/gpu");
      continue;
    }
    for (const auto& sl : g->slices)
      add(SliceResource(sl.profile, s == Strategy::kSingle || n.pool.fixed()));
  }
  return out;
}

std::string NodeName(const Node& n) { return n.name.empty() ? kNodePlaceholder : n.name; }

// The GPU Operator reads the mig-parted ConfigMap and the device plugin's
// time-slicing ConfigMap through its ClusterPolicy.
std::string OperatorConfig(const Options& o, bool shares) {
  std::string out = fmt::format(
      "\nlog \"mig-parted config → ConfigMap {}/{}; ClusterPolicy: migManager.config.name and "
      "mig.strategy\"\n",
      o.operator_ns, o.mig_configmap);
  out += "kubectl apply -f mig-config.yaml\n";
  if (shares)
    out += "kubectl apply -f device-plugin-config.yaml  # time-slicing for shared slices\n";
  std::string plugin = shares ? fmt::format(",\"devicePlugin\":{{\"config\":{{\"name\":\"{}\"}}}}",
                                            kDevicePluginConfigMap)
                              : "";
  out += fmt::format(
      "kubectl patch clusterpolicies.nvidia.com \"$CLUSTER_POLICY\" --type merge -p "
      "'{{\"spec\":{{\"migManager\":{{\"config\":{{\"name\":\"{}\"}}}},\"mig\":{{\"strategy\":\"{}"
      "\"}}{}}}}}'\n",
      o.mig_configmap, o.strategy == Strategy::kSingle ? "single" : "mixed", plugin);
  return out;
}

// No GPU Operator: the nodes' device plugin came with them; carve cannot
// restart or reconfigure it, only hand it the time-slicing ConfigMap.
std::string NoOperatorConfig(bool shares) {
  std::string out =
      "\nlog \"no GPU Operator: no MIG manager or ClusterPolicy; the nodes' own device plugin "
      "advertises their slices\"\n";
  if (shares)
    out +=
        "kubectl apply -f device-plugin-config.yaml  # time-slicing: point the device plugin at it "
        "(RUNBOOK.md)\n";
  return out;
}

}  // namespace

std::string RolloutScript(const Cluster& c, const Options& o) {
  std::string out = "#!/usr/bin/env bash\n# Written by carve render k8s";
  out += o.spec_file.empty() ? "" : " from " + o.spec_file;
  out += ". Rolls the plan out node by node; RUNBOOK.md explains each step.\n";
  bool op = o.op == Operator::kGpuOperator;
  out += Replace(Replace(std::string(kPrelude) + (op ? kOperatorFns : "") + kNodeFns +
                             (op ? kRollNode : kRollNodePlain),
                         "@OPNS@", o.operator_ns),
                 "@NS@", o.ns);
  out = Replace(out, "@DRA@", o.dra ? "yes" : "no");
  bool shares = std::any_of(c.layouts.begin(), c.layouts.end(),
                            [](auto& l) { return !l.time_slices.empty(); });
  out += o.op == Operator::kGpuOperator ? OperatorConfig(o, shares) : NoOperatorConfig(shares);
  out +=
      op ? "\n# One node at a time: label, wait, restart the device plugin, check what it "
           "advertises.\n"
         : "\n# Node by node: check what it advertises (labels only for carve's own selectors).\n";
  for (const auto& n : c.nodes) {
    if (n.layout.empty()) continue;
    if (n.pool.fixed() && n.name.empty()) {
      out += fmt::format(
          "log \"pool {}: its nodes ({}) are carved by the provider; nothing to roll\"\n",
          n.pool.name, n.pool.selector);
      continue;
    }
    if (o.op == Operator::kNone && n.mig_capable &&
        !n.pool.fixed()) {  // unnamed: Karpenter's node classes carve them
      out += fmt::format(
          "log \"layout {}: its nodes come from karpenter.yaml, whose node class partitions "
          "them\"\n",
          n.layout);
      continue;
    }
    bool shared = !n.time_slices.empty();
    out += n.pool.fixed() ? fmt::format("check_node {} {}", NodeName(n), shared ? n.layout : "-")
                          : fmt::format("roll_node {} {} {} {}", NodeName(n), n.layout,
                                        n.mig_capable ? "yes" : "no", shared ? "yes" : "no");
    if (!o.dra || n.pool.fixed())  // claimed slices are no extended resources to count
      for (const auto& [r, k] : Expected(n, o.strategy)) out += fmt::format(" {}={}", r, k);
    out += "\n";
  }
  out +=
      "\nlog \"workloads\"\nkubectl apply -f namespace.yaml\nkubectl apply -f models.yaml -f "
      "gateway.yaml\n";
  for (const auto& w : c.workloads)
    out += fmt::format("kubectl -n \"$NS\" rollout status deployment/{} --timeout=3600s\n", w.name);
  out += "kubectl -n \"$NS\" rollout status deployment/carve-gateway --timeout=600s\nlog done\n";
  return out;
}

}  // namespace carve::render::k8s
