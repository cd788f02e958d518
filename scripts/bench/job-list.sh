#!/usr/bin/env bash
# GET /api/jobs's body, in process, over a real SQLite store: the hand-spliced listing (the
# stored JSON columns written out as stored) against the old route's work in the same run
# (decode every row's parameters and result into JSONValue, then JSONEncoder), with the store
# read alone as the floor both pay. Alternating runs, medians, ratio (ffrtmp-bench-json list).
#
#   scripts/bench/job-list.sh [RUNS] [JOBS]      FFRTMP_BIN_DIR: the binaries (default .build/release)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=${FFRTMP_BIN_DIR:-$repo/.build/release}
[ -x "$bin/ffrtmp-bench-json" ] || { echo "$bin/ffrtmp-bench-json not built: swift build -c release --product ffrtmp-bench-json" >&2; exit 1; }
echo "job-list: $(date -u +%FT%TZ) $(uname -r) $(nproc) cores, $bin"
"$bin/ffrtmp-bench-json" list "${1:-31}" "${2:-1000}"
