#!/usr/bin/env bash
# Installs the validator's npm packages (package-lock.json, npm ci) when they
# are missing or older than the lock file. Run by scripts/test and by ctest.
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "install.sh: npm is missing; run scripts/install-deps" >&2; exit 1; }
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
