#!/usr/bin/env bash
# bench/pools: on-demand models in a pool (bench/pools/run.py says what it
# measures). Usage: bench/pools/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
CARVE_BIN=${CARVE_BIN:-${BUILD_DIR:-build}/carve} exec python3 bench/pools/run.py
