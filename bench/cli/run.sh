#!/usr/bin/env bash
# Response time of `carve gpus` and `carve profiles` on a simulated 8-GPU host
# with every GPU partitioned, against `carve --version` (process start-up, the
# floor) measured in the same run. Usage: bench/cli/run.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
CARVE=${CARVE:-build/carve}
RUNS=${1:-200}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export CARVE_SIM="$dir/m.json"
$CARVE sim new "$CARVE_SIM" h100-80gb:8 --mig on --seed 1 >/dev/null
for i in 0 1 2 3 4 5 6 7; do $CARVE mig create -i $i 3g.40gb,2g.20gb,1g.10gb,1g.10gb >/dev/null; done

time_ms() {  # mean milliseconds per run of "$@"
  local start end
  start=$(date +%s%N)
  for ((r = 0; r < RUNS; r++)); do "$@" >/dev/null; done
  end=$(date +%s%N)
  echo "scale=3; ($end - $start) / 1000000 / $RUNS" | bc
}
base=$(time_ms $CARVE --version)
printf '%-28s %10s %10s\n' "command (8x H100, 32 slices)" "ms/run" "x start-up"
printf '%-28s %10s %10s\n' "carve --version" "$base" "1.00"
for cmd in "gpus" "profiles" "--json gpus" "--json profiles" "mig list"; do
  t=$(time_ms $CARVE $cmd)
  printf '%-28s %10s %10s\n' "carve $cmd" "$t" "$(echo "scale=2; $t / $base" | bc)"
done
