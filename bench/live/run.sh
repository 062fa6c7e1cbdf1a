#!/usr/bin/env bash
# bench/live: failed requests and latency while carve up changes slices under
# load (bench/live/run.py says what it measures). Usage: bench/live/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
CARVE_BIN=${CARVE_BIN:-${BUILD_DIR:-build}/carve} exec python3 bench/live/run.py
