#!/usr/bin/env bash
# carve render k8s through the real binary: every object it writes validates
# against the Kubernetes API schemas (validate.js), its scripts parse, and the
# refusals say why. Usage: run.sh PATH/TO/carve
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ex=$here/../../examples/k8s
carve=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "run.sh: $*" >&2; exit 1; }

# The validator itself rejects broken objects (each one of them).
node "$here/validate.js" --expect-invalid "$here/invalid.yaml" >/dev/null || fail "validator accepted invalid.yaml"

"$carve" render k8s "$ex/carve.yaml" --nodes "$ex/nodes.json" -o "$tmp/nodes" >/dev/null
"$carve" render k8s "$ex/carve.yaml" --nodes "$ex/nodes.json" >"$tmp/stdout.yaml"
"$carve" render k8s "$ex/carve.yaml" --fleet h100-80gb:2,h100-nvl:2,l40s:1 -o "$tmp/fleet" >/dev/null
printf 'version: v1\nmodels:\n  - {name: small, source: Qwen/Qwen3-0.6B, memory: 8GiB, replicas: 14}\n' >"$tmp/uniform.yaml"
"$carve" render k8s "$tmp/uniform.yaml" --fleet h100-80gb:2 --strategy single -o "$tmp/single" >/dev/null
grep -q 'nvidia.com/gpu: 1' "$tmp/single/models.yaml" || fail "single: no nvidia.com/gpu request"
# Fixed-profile pools: the managed-pool tutorial, and a fixed pool beside a MIG-manager node.
for ex2 in managed mixed-pools; do
  "$carve" render k8s "$ex/$ex2/carve.yaml" --nodes "$ex/$ex2/nodes.json" -o "$tmp/$ex2" >/dev/null
done
grep -q 'nvidia.com/gpu: 1' "$tmp/managed/models.yaml" || fail "managed: no nvidia.com/gpu request"
# No GPU Operator labels on the tutorial's nodes: --operator auto renders no MIG-manager objects.
[ ! -e "$tmp/managed/mig-config.yaml" ] || fail "managed: mig-config.yaml without a GPU Operator"
! grep -q clusterpolicies "$tmp/managed/rollout.sh" || fail "managed: rollout.sh patches a ClusterPolicy"
[ -e "$tmp/mixed-pools/mig-config.yaml" ] || fail "mixed-pools: the H100 node's MIG manager gets no config"
# Three models time-sliced on one slice: the device plugin's config in its ConfigMap.
"$carve" render k8s "$ex/shared/carve.yaml" -o "$tmp/shared" >/dev/null
[ -f "$tmp/shared/device-plugin-config.yaml" ] || fail "shared: no device-plugin-config.yaml"
# Exoscale: the tutorial's nodes say so (provider IDs); a spec's pools with --cloud exoscale.
grep -q 'kind: ExoscaleNodeClass' "$tmp/managed/karpenter.yaml" || fail "managed: no ExoscaleNodeClass (--cloud auto)"
"$carve" render k8s "$ex/exoscale/carve.yaml" --cloud exoscale -o "$tmp/exoscale" >/dev/null
grep -q 'device-partitioning-strategy = "mig"' "$tmp/exoscale/karpenter.yaml" || fail "exoscale: no node agent MIG settings"
! grep -q EC2NodeClass "$tmp/exoscale/karpenter.yaml" || fail "exoscale: an EC2NodeClass"

# --dra: ResourceClaimTemplates instead of extended resources.
"$carve" render k8s "$ex/carve.yaml" --nodes "$ex/nodes.json" --dra -o "$tmp/dra" >/dev/null
grep -q 'kind: ResourceClaimTemplate' "$tmp/dra/models.yaml" || fail "dra: no ResourceClaimTemplate"
! grep -q 'nvidia.com/mig-' "$tmp/dra/models.yaml" || fail "dra: an extended MIG resource is still requested"

for d in nodes fleet single managed mixed-pools shared exoscale dra; do
  node "$here/validate.js" "$tmp/$d" || fail "$d: invalid objects"
  for s in "$tmp/$d"/*.sh; do bash -n "$s" || fail "$s does not parse"; done
done
node "$here/validate.js" "$tmp/stdout.yaml" || fail "stdout: invalid objects"

# Refusals (exit 3, with the reason): non-uniform nodes under single; a node to
# partition without the GPU Operator.
refused() {  # what pattern carve-args...
  local what=$1 pattern=$2 out rc; shift 2
  set +e
  out=$("$carve" render k8s "$@" 2>&1)
  rc=$?
  set -e
  [ "$rc" = 3 ] || fail "$what: exit $rc, expected 3"
  grep -q "$pattern" <<<"$out" || fail "$what: no reason given: $out"
}
refused "single on mixed layouts" 'not uniform' "$ex/carve.yaml" --nodes "$ex/nodes.json" --strategy single
refused "--operator none with a node to partition" 'gpu-h100-1' \
  "$ex/mixed-pools/carve.yaml" --nodes "$ex/mixed-pools/nodes.json" --operator none
echo "run.sh: ok"
