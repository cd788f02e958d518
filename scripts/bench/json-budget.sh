#!/usr/bin/env bash
# The master's JSON budget, against a real ffrtmp-master (SQLite in a temp dir) on loopback:
# POST /api/jobs with 1 MiB of parameters nested at the allowed depth (32), against the same
# 1 MiB nested only 2 deep (the peer: the same bytes' worth of work without the nesting), and
# the 32 KB hostile body of {"a": nesting (refused). Python's json.loads of the 1 MiB body is a
# second peer, for the decoding alone.
#
# Then ffrtmp-bench-json (when built) times the decoding alone, in process, against Foundation's
# JSONSerialization of the same bytes.
#
#   scripts/bench/json-budget.sh [RUNS]      FFRTMP_BIN_DIR: the binaries (default .build/release)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=${FFRTMP_BIN_DIR:-$repo/.build/release}
runs=${1:-30}
command -v hyperfine >/dev/null || { echo "hyperfine missing (scripts/install-deps.sh bench)" >&2; exit 1; }
work=$(mktemp -d /tmp/ffrtmp-json-budget-XXXXXX)
port=$((21000 + $$ % 500))
key=json-budget-key-0123456789
master=""
cleanup() { [ -n "$master" ] && kill "$master" 2>/dev/null && wait "$master" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
FFRTMP_API_KEY=$key "$bin/ffrtmp-master" --listen 127.0.0.1:$port --db "sqlite:$work/master.db" >"$work/master.log" 2>&1 &
master=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
def nest(depth, leaf):
    v = leaf
    for _ in range(depth):
        v = {"k": v}
    return v
row = list(range(1000))            # ~3.9 KB of numbers per leaf array
def body(depth):
    leaves, size = [], 0
    while size < (1 << 20) - 8000:
        leaves.append(nest(depth - 4, row))   # job, parameters, the list of leaves, the nesting, the row
        size = len(json.dumps({"engine": "ffmpeg", "parameters": {"l": leaves}}))
    return json.dumps({"engine": "ffmpeg", "parameters": {"l": leaves}})
open(w + "/deep.json", "w").write(body(32))
open(w + "/flat.json", "w").write(body(4))
open(w + "/hostile.json", "w").write('{"id":"deep","parameters":' + '{"a":' * 6500 + '1' + '}' * 6500 + '}')
PY
post() { echo "curl -s -o /dev/null -w %{http_code} -H 'Authorization: Bearer $key' -H 'Content-Type: application/json' --data-binary @$work/$1 http://127.0.0.1:$port/api/jobs"; }
echo "bodies: deep $(stat -c %s "$work/deep.json") B, flat $(stat -c %s "$work/flat.json") B, hostile $(stat -c %s "$work/hostile.json") B"
echo "answers: deep $(eval "$(post deep.json)"), flat $(eval "$(post flat.json)"), hostile $(eval "$(post hostile.json)")"
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/post.json" \
  -n "flat (depth 4)" "$(post flat.json)" -n "deep (depth 32)" "$(post deep.json)" -n "hostile (32 KB, depth 6501)" "$(post hostile.json)" >/dev/null
jq -r '.results[] | "\(.command): median \((.median * 1000 * 100 | floor) / 100) ms"' "$work/post.json"
jq -r '.results as $r | "deep/flat ratio: \(($r[1].median / $r[0].median * 100 | floor) / 100)"' "$work/post.json"
python3 - "$work" <<'PY'
import json, sys, time
t = open(sys.argv[1] + "/deep.json").read()
best = []
for _ in range(20):
    t0 = time.perf_counter(); json.loads(t); best.append(time.perf_counter() - t0)
best.sort()
print(f"python3 json.loads of the deep body: median {best[len(best)//2]*1000:.2f} ms")
PY
if [ -x "$bin/ffrtmp-bench-json" ]; then "$bin/ffrtmp-bench-json" "$runs"; else echo "($bin/ffrtmp-bench-json not built: swift build -c release --product ffrtmp-bench-json)"; fi
