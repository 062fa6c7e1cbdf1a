#!/usr/bin/env bash
# Written by carve render k8s from examples/k8s/managed/carve.yaml. Rolls the plan out node by node; RUNBOOK.md explains each step.
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

roll_node() {  # node layout mig(no) share(yes|no) resource=count...
  local node=$1 layout=$2 share=$4; shift 4
  local labels=("carve.dev/layout=$layout")
  [ "$share" = yes ] && labels+=("nvidia.com/device-plugin.config=$layout")
  kubectl label node "$node" --overwrite "${labels[@]}"
  for r in "$@"; do wait_allocatable "$node" "${r%=*}" "${r##*=}"; done
}

log "no GPU Operator: no MIG manager or ClusterPolicy; the nodes' own device plugin advertises their slices"

# Node by node: check what it advertises (labels only for carve's own selectors).
check_node pool-gpu-a1b2c - nvidia.com/gpu=4

log "workloads"
kubectl apply -f namespace.yaml
kubectl apply -f models.yaml -f gateway.yaml
kubectl -n "$NS" rollout status deployment/gemma-3-4b --timeout=3600s
kubectl -n "$NS" rollout status deployment/qwen3-8b --timeout=3600s
kubectl -n "$NS" rollout status deployment/carve-gateway --timeout=600s
log done
