#!/usr/bin/env bash
# Runs the openai-npm client tests against a carve binary. Installs the exact
# locked packages (npm ci) into a copy under the build directory, so the source
# tree stays clean; reinstalls only when the lockfile changes.
# Usage: tests/node/run.sh CARVE_BIN WORK_DIR
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)"
carve="$1"
work="$2"
mkdir -p "$work"
cp "$src/package.json" "$src/package-lock.json" "$src/gateway.test.mjs" "$src/on_demand.test.mjs" "$work/"
stamp="$work/node_modules/.carve-lock-sha256"
want="$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi
cd "$work"
CARVE_BIN="$carve" exec node --test gateway.test.mjs on_demand.test.mjs
