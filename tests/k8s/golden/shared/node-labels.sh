#!/usr/bin/env bash
# Written by carve render k8s: labels each node with its layout. The GPU Operator's MIG
# manager repartitions a node when its nvidia.com/mig.config changes; it does not drain
# workloads. rollout.sh does the same labelling with drains and waits.
set -euo pipefail
kubectl label node "${NODE:?set NODE to the name of the GPU node}" --overwrite carve.dev/layout=carve-rtx-pro-6000-3079f7ed nvidia.com/mig.config=carve-rtx-pro-6000-3079f7ed nvidia.com/device-plugin.config=carve-rtx-pro-6000-3079f7ed
