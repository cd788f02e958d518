#!/usr/bin/env bash
# Property-based and hostile-input tests of every input surface (Tests/FFRTMPPropertyTests):
# job and result JSON, constraints, worker.env, control-socket requests, master request
# bodies, engine parameters. Writes each property's input count and outcome tallies, and the
# result, to docs/fuzz/last-run-MODE.txt.
# Usage: scripts/fuzz/run.sh [--quick|--long]
#   --quick (default; what CI runs inside `swift test`): about 59,000 inputs, ~25 s.
#   --long: FFRTMP_PROPERTY_ITERATIONS=20000 inputs per property (about 500,000), ~7 min.
# A failure prints a .fixedSeed("...") that replays it. As root the unauthorised-peer case runs too.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:---quick}
case $mode in
  --quick) ;;
  --long) export FFRTMP_PROPERTY_ITERATIONS=${FFRTMP_PROPERTY_ITERATIONS:-20000} ;;
  *) echo "usage: $0 [--quick|--long]" >&2; exit 2 ;;
esac
swift build --build-tests >/dev/null
log=$(mktemp /tmp/ffrtmp-fuzz-XXXXXX)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
set +e
swift test --skip-build --filter FFRTMPPropertyTests > "$log" 2>&1
rc=$?
set -e
mkdir -p docs/fuzz
out=docs/fuzz/last-run-${mode#--}.txt
{
  echo "# Property tests ($mode): $(date -u +%Y-%m-%dT%H:%M:%SZ), $(( $(date +%s) - start )) s"
  echo "iterations per property: ${FFRTMP_PROPERTY_ITERATIONS:-default}"
  grep -E '^property ' "$log" || true
  grep -E 'Test run with|✘|error:' "$log" || true
  awk '/^property / { sub(/ inputs.*/, "", $0); n += $NF } END { printf "total generated inputs: %d\n", n }' "$log"
} | tee "$out"
[ $rc = 0 ] || { echo "property tests failed (exit $rc); the log: $log" >&2; trap - EXIT; exit $rc; }
