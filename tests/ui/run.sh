#!/usr/bin/env bash
# Runs the dashboard browser test driver (dashboard.mjs) with puppeteer-core
# against Debian's Chromium. Installs the exact locked packages (npm ci) into a
# copy under WORK_DIR, so the source tree stays clean; reinstalls only when the
# lockfile changes. Everything after "--" goes to dashboard.mjs.
# Usage: tests/ui/run.sh WORK_DIR -- --url URL --expect FILE --screenshot OUT.png [--key KEY]
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)"
work="$1"
shift
[ "${1:-}" = "--" ] && shift
mkdir -p "$work"
cp "$src/package.json" "$src/package-lock.json" "$src/dashboard.mjs" "$work/"
stamp="$work/node_modules/.carve-lock-sha256"
want="$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  (cd "$work" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) >&2
  echo "$want" >"$stamp"
fi
# No cd: paths in the arguments stay relative to the caller; node finds
# puppeteer-core next to the script.
exec node "$work/dashboard.mjs" "$@"
