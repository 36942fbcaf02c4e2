#!/usr/bin/env bash
# deploy/test-cluster.sh — `npm run test:cluster`: the fault-injection tests of the cluster profile (CI runs it after
# `npm test`, .ci/run). Brings the cluster profile up (bash deploy/stack.sh up --profile cluster, which installs what
# the profile lacks), loads the configuration it wrote (.stack/cluster/cluster.env), migrates, runs test/cluster/*.test.ts
# (vitest.cluster.config.ts; arguments are passed on, e.g. a file name), and takes the cluster down again unless
# CLUSTER_KEEP=1. Prints the time of the profile's start and of the whole command. Exit code: vitest's (or the
# profile's start-up failure).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
start=$SECONDS
bash deploy/stack.sh up --profile cluster
echo "== cluster profile up in $((SECONDS - start)) s"
set -a
# shellcheck disable=SC1091
. "${CLUSTER_DIR:-$ROOT/.stack/cluster}/cluster.env"
set +a
# As deploy/test.sh does for the default stack: the base schema and the cluster-wide service roles (postgres/070,
# 096) that every service connects as; the tests' harnesses provision only their own namespaces, so without this a
# processor started by the first test on a fresh profile has no role to SET (the order of the files is not fixed).
bin/studystream migrate
status=0
npx vitest run -c vitest.cluster.config.ts "$@" || status=$?
[ "${CLUSTER_KEEP:-0}" = 1 ] || bash deploy/stack.sh down --profile cluster
echo "test:cluster: vitest exit $status, $((SECONDS - start)) s in all"
exit "$status"
