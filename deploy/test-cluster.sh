#!/usr/bin/env bash
# deploy/test-cluster.sh — `npm run test:cluster`: the fault-injection tests of the cluster profile.
# Brings the cluster profile up (bash deploy/stack.sh up --profile cluster), loads the configuration it wrote
# (.stack/cluster/cluster.env), runs test/cluster/*.test.ts (vitest.cluster.config.ts; arguments are passed on,
# e.g. a file name), and takes the cluster down again unless CLUSTER_KEEP=1. Exit code: vitest's.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash deploy/stack.sh up --profile cluster
set -a
# shellcheck disable=SC1091
. "${CLUSTER_DIR:-$ROOT/.stack/cluster}/cluster.env"
set +a
status=0
npx vitest run -c vitest.cluster.config.ts "$@" || status=$?
[ "${CLUSTER_KEEP:-0}" = 1 ] || bash deploy/stack.sh down --profile cluster
exit "$status"
