#!/usr/bin/env bash
# `npm test`: lint, format check, typecheck, then unit and integration tests against the real local stack
# (started here if it is not running). Ends with one summary line "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/bootstrap.sh
export PATH="$PWD/node_modules/.bin:$PATH"

# Test-only tool: Debian's docker-compose validates docker-compose.yml (no Docker engine needed).
if ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing docker-compose (to validate docker-compose.yml)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose >/dev/null ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose >/dev/null; } ||
      echo "docker-compose could not be installed; its check will be skipped"
  fi
fi

# Test-only tools: promtool (Debian prometheus) checks and unit-tests deploy/prometheus/alerts.yml; Prometheus and
# Alertmanager also run in the ops integration test. A temporary policy-rc.d keeps their system services stopped.
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus-alertmanager >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing prometheus and prometheus-alertmanager (alerting rules and monitoring tests)"
    policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus prometheus-alertmanager >/dev/null ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus prometheus-alertmanager >/dev/null; } ||
      echo "prometheus could not be installed; the promtool and Prometheus checks will be skipped"
    [ "$policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
  fi
fi

# Test-only tools for the Kubernetes manifests (kubeconform, kustomize, Kubernetes JSON schemas).
bash deploy/tools.sh

# Test-only tool: Debian's Chromium for the dashboard's browser tests (playwright-core drives it; no browser download).
if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing chromium (browser tests of the web dashboard)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null; } ||
      echo "chromium could not be installed; the browser tests will fail (set CHROMIUM_PATH to a Chromium binary)"
  fi
fi

echo "== web dashboard build (when its sources changed)"
node services/web/build.ts
echo "== lint and format"
npx eslint .
npx prettier --check .
echo "== architecture rules (dependency-cruiser, knip)"
npm run --silent arch
echo "== typecheck"
npx tsc --noEmit -p .
echo "== stack"
bash deploy/stack.sh up
bin/studystream migrate
echo "== tests"
mkdir -p .stack/test-results
# Every ClickHouse statement the integration tests send is captured (services/shared/clickhouse-capture.ts), then
# replayed on chDB, a current ClickHouse, and compared with 18.16's answers (test/current-clickhouse).
capture="$PWD/.stack/test-results/clickhouse-capture"
rm -rf "$capture" .stack/test-results/vitest-current.json
status=0
CLICKHOUSE_CAPTURE_DIR="$capture" npx vitest run --project unit --project integration --reporter=default --reporter=json --outputFile.json=.stack/test-results/vitest.json "$@" || status=$?
if [ "$#" -eq 0 ]; then
  echo "== current ClickHouse (chDB): replay of the captured statements"
  CURRENT_CLICKHOUSE_CAPTURE="$capture" npx vitest run --project current-clickhouse --reporter=default --reporter=json --outputFile.json=.stack/test-results/vitest-current.json || status=$?
fi
VITEST_STATUS=$status node -e '
const fs = require("fs");
const runs = [".stack/test-results/vitest.json", ".stack/test-results/vitest-current.json"].filter((f) => fs.existsSync(f)).map((f) => JSON.parse(fs.readFileSync(f, "utf8")));
const sum = (k) => runs.reduce((n, r) => n + r[k], 0);
// Unhandled errors (e.g. a rejection nobody awaited) fail the run without failing a test: say so in the summary.
const errors = process.env.VITEST_STATUS !== "0" && sum("numFailedTests") === 0 ? " (vitest exited non-zero: errors outside tests, see above)" : "";
console.log(`tests: ${sum("numPassedTests")} passed, ${sum("numFailedTests")} failed` + (sum("numPendingTests") ? `, ${sum("numPendingTests")} skipped` : "") + errors);
'
exit $status
