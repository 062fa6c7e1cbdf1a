#!/usr/bin/env bash
# Written by carve render k8s from examples/k8s/mixed-pools/carve.yaml. Rolls the plan out node by node; RUNBOOK.md explains each step.
set -euo pipefail
cd "$(dirname "$0")"
TIMEOUT=${TIMEOUT:-900}              # seconds the MIG manager gets per node
DRAIN=${DRAIN:-yes}                  # no: skip cordon/drain (only if the node runs no GPU work)
OPERATOR_NS=${OPERATOR_NS:-gpu-operator}
CLUSTER_POLICY=${CLUSTER_POLICY:-cluster-policy}
NS=carve
DRA=no                              # yes: slices are DRA claims, not extended resources

log() { printf 'rollout: %s\n' "$*" >&2; }
label() { kubectl get node "$1" -o "jsonpath={.metadata.labels.${2//./\\.}}"; }
allocatable() { kubectl get node "$1" -o "jsonpath={.status.allocatable.${2//./\\.}}"; }

# The MIG manager leaves gpu.deploy.* at paused-for-mig-change and the state
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

wait_allocatable() {  # node resource count
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

roll_node() {  # node layout mig(yes|no) share(yes|no) resource=count...
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

log "mig-parted config → ConfigMap gpu-operator/carve-mig-parted-config; ClusterPolicy: migManager.config.name and mig.strategy"
kubectl apply -f mig-config.yaml
kubectl patch clusterpolicies.nvidia.com "$CLUSTER_POLICY" --type merge -p '{"spec":{"migManager":{"config":{"name":"carve-mig-parted-config"}},"mig":{"strategy":"mixed"}}}'

# One node at a time: label, wait, restart the device plugin, check what it advertises.
roll_node gpu-h100-1 carve-h100-80gb-613d06fb yes no nvidia.com/mig-3g.40gb=1 nvidia.com/mig-4g.40gb=1
check_node rtx-pool-1 - nvidia.com/gpu=4

log "workloads"
kubectl apply -f namespace.yaml
kubectl apply -f models.yaml -f gateway.yaml
kubectl -n "$NS" rollout status deployment/embedder --timeout=3600s
kubectl -n "$NS" rollout status deployment/llama-3-8b-3g-40gb --timeout=3600s
kubectl -n "$NS" rollout status deployment/llama-3-8b-4g-40gb --timeout=3600s
kubectl -n "$NS" rollout status deployment/qwen3-8b --timeout=3600s
kubectl -n "$NS" rollout status deployment/carve-gateway --timeout=600s
log done
