#!/usr/bin/env bash
# Written by carve render k8s: labels each node with its layout. The GPU Operator's MIG
# manager repartitions a node when its nvidia.com/mig.config changes; it does not drain
# workloads. rollout.sh does the same labelling with drains and waits.
set -euo pipefail
