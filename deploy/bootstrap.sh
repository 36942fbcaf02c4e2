#!/usr/bin/env bash
# Installs the npm dependencies (including the pinned Node 24) when they are missing or stale.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bootstrap: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
