#!/usr/bin/env bash
# make test in two lanes, side by side on separate throwaway servers (each pytest session starts its own):
#   foreground: the integration and e2e tiers (mostly waiting on PostgreSQL, moto, make dev and the browser)
#   background: the CPU-bound unit and CDK tiers, then Vitest; its output is printed when the foreground ends
# Either lane failing fails the run. Usage: scripts/test-lanes.sh PYTHON
set -uo pipefail
py="$1"
log="$(mktemp -t stockscreen-test-lane.XXXXXX)"
# its own process group (setsid), so that an interrupted run stops the whole lane
setsid bash -c '"$0" -m pytest -q tests/unit tests/infra; unit=$?
  (cd frontend && npm test --silent); vitest=$?
  exit $((unit || vitest))' "$py" >"$log" 2>&1 &
lane=$!
trap 'kill -- -"$lane" 2>/dev/null; exit 130' INT TERM
trap 'rm -f "$log"' EXIT

echo "[test] unit, CDK and Vitest run in the background (their output follows this lane's)"
"$py" -m pytest -q tests/integration tests/e2e
main=$?
wait "$lane"
background=$?
echo
echo "[test] ---- background lane: tests/unit tests/infra, then Vitest ----"
cat "$log"
if [ "$main" -ne 0 ] || [ "$background" -ne 0 ]; then
  echo "[test] FAILED: integration+e2e exit $main, unit+infra+Vitest exit $background" >&2
  exit 1
fi
echo "[test] all lanes passed"
