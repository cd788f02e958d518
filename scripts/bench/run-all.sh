#!/usr/bin/env bash
# Runs every benchmark against a release build and regenerates the measured blocks of
# docs/BENCHMARKS.md (between <!-- bench:NAME --> and <!-- /bench:NAME --> markers) from the
# result files in docs/bench/. The prose around the blocks is written by hand.
#
#   scripts/bench/run-all.sh [--no-build] [--only NAME...]     (root)
#   NAMES: latency shim-memory kill-teardown agent-footprint master-dispatch console-vs-htop
#   FFRTMP_BIN_DIR: the binaries (default: .build/release, built here unless --no-build).
#   LATENCY_ROUNDS (150), KILL_ROUNDS (7), AGENT_WINDOW (45), DISPATCH_JOBS (1200), DISPATCH_ROUNDS (3),
#   CONSOLE_JOBS (200), CONSOLE_WINDOW (60), CONSOLE_ROUNDS (3).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
build=1
only=()
while [ $# -gt 0 ]; do
  case $1 in
    --no-build) build=0 ;;
    --only) shift; while [ $# -gt 0 ] && [[ $1 != --* ]]; do only+=("$1"); shift; done; continue ;;
    *) echo "usage: $0 [--no-build] [--only NAME...]" >&2; exit 2 ;;
  esac
  shift
done
[ ${#only[@]} -gt 0 ] || only=(latency shim-memory kill-teardown agent-footprint master-dispatch console-vs-htop)
[ "$(id -u)" = 0 ] || { echo "needs root (cgroups)" >&2; exit 1; }
scripts/install-deps.sh bench
scripts/install-deps.sh test   # curl, jq, PostgreSQL for master-dispatch
if [ $build = 1 ] && [ -z "${FFRTMP_BIN_DIR:-}" ]; then
  swift build -c release --static-swift-stdlib >/dev/null
  scripts/build-shim.sh
fi
export FFRTMP_BIN_DIR=${FFRTMP_BIN_DIR:-$repo/.build/release}

for name in "${only[@]}"; do
  echo "== $name"
  case $name in
    # run-latency.sh builds and uses .build/release itself.
    latency) scripts/bench/run-latency.sh "${LATENCY_ROUNDS:-150}" ;;
    shim-memory) scripts/bench/shim-memory.sh ;;
    kill-teardown) scripts/bench/kill-teardown.sh "${KILL_ROUNDS:-7}" ;;
    agent-footprint) scripts/bench/agent-footprint.sh "${AGENT_WINDOW:-45}" ;;
    master-dispatch) scripts/bench/master-dispatch.sh "${DISPATCH_JOBS:-1200}" "${DISPATCH_ROUNDS:-3}" ;;
    console-vs-htop) scripts/bench/console-vs-htop.sh "${CONSOLE_JOBS:-200}" "${CONSOLE_WINDOW:-60}" "${CONSOLE_ROUNDS:-3}" ;;
    *) echo "unknown benchmark $name" >&2; exit 2 ;;
  esac
done

# The machine block and one block per result file.
cg=v1-hybrid
[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && cg="v2 (unified)"
{
  echo "- $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, shared with other work"
  echo "- Linux $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "- cgroup $cg: $(awk '$9 == "cgroup" {n++} END {print n + 0}' /proc/self/mountinfo) v1 hierarchies mounted, cgroup2 at $(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)"
  echo "- binaries: ${FFRTMP_BIN_DIR#"$repo"/} (run-latency.sh: .build/release), last regenerated $(date -u +%F)"
} > docs/bench/machine.txt
python3 - docs/BENCHMARKS.md docs/bench <<'EOF'
import pathlib, re, sys
doc, bench = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
text = doc.read_text()
def block(m):
    name = m.group(1)
    f = bench / (name + ".txt")
    if not f.exists():
        return m.group(0)
    body = f.read_text().rstrip("\n")
    inner = body if name == "machine" else "```\n" + body + "\n```"
    return "<!-- bench:%s -->\n%s\n<!-- /bench:%s -->" % (name, inner, name)
new = re.sub(r"<!-- bench:([\w-]+) -->.*?<!-- /bench:\1 -->", block, text, flags=re.S)
doc.write_text(new)
missing = [n for n in re.findall(r"<!-- bench:([\w-]+) -->", new) if not (bench / (n + ".txt")).exists()]
if missing:
    print("no result file yet for: " + ", ".join(missing))
EOF
echo "docs/BENCHMARKS.md regenerated from docs/bench/"
