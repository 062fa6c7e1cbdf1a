#!/usr/bin/env bash
# Written by carve render k8s: labels each node with its layout. The GPU Operator's MIG
# manager repartitions a node when its nvidia.com/mig.config changes; it does not drain
# workloads. rollout.sh does the same labelling with drains and waits.
set -euo pipefail
kubectl label node gpu-a100-1 --overwrite carve.dev/layout=carve-a100-80gb-91dc09f3 nvidia.com/mig.config=carve-a100-80gb-91dc09f3
kubectl label node gpu-h100-1 --overwrite carve.dev/layout=carve-h100-80gb-15bae811 nvidia.com/mig.config=carve-h100-80gb-15bae811
kubectl label node gpu-h100-vm --overwrite carve.dev/layout=carve-h100-nvl-819302c5
kubectl label node gpu-l40s-1 --overwrite carve.dev/layout=carve-l40s-c21204f8
