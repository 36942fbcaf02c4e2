#!/usr/bin/env bash
# `npm test`: lint, format check, typecheck, then unit and integration tests against the real local stack
# (started here if it is not running). Ends with one summary line "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/bootstrap.sh
export PATH="$PWD/node_modules/.bin:$PATH"

echo "== lint and format"
npx eslint .
npx prettier --check .
echo "== typecheck"
npx tsc --noEmit -p .
echo "== stack"
bash deploy/stack.sh up
bin/studystream migrate
echo "== tests"
mkdir -p .stack/test-results
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.stack/test-results/vitest.json "$@" || status=$?
node -e '
const r = JSON.parse(require("fs").readFileSync(".stack/test-results/vitest.json", "utf8"));
console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
'
exit $status
