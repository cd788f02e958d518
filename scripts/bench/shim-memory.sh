#!/usr/bin/env bash
# Memory of the per-job supervisor: PSS (from /proc/PID/smaps_rollup) of N ffrtmp-shim
# processes, each holding one `sleep` workload, against N `timeout 1d sleep` (coreutils
# timeout: a minimal C parent that forks, waits and forwards signals) holding the same
# workloads. PSS splits shared pages between the processes that map them, so N copies of
# one binary cost what they really cost together. Prints per-job PSS and the ratio.
#
#   scripts/bench/shim-memory.sh [N...]      (root; default N = 1 10 100; writes docs/bench/shim-memory.txt)
#   FFRTMP_BIN_DIR=... picks the binaries (default .build/debug; the shim is always built by
#   scripts/build-shim.sh with cc, so debug and release share it).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/scripts/lib/harness.sh"
harness_require timeout
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1 10 100)

work=$(mktemp -d /tmp/ffrtmp-bench-shim-XXXXXX)
PARENT=/ffrtmp-bench-shim-$$
export FFRTMP_STATE_DIR=$work/state FFRTMP_CGROUP_PARENT=$PARENT
peer_pids=()
cleanup() {
  [ ${#peer_pids[@]} -gt 0 ] && kill -TERM "${peer_pids[@]}" 2>/dev/null
  cgroup_cleanup "$PARENT"
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

pss_kb() { awk '/^Pss:/ {s += $2} END {print s + 0}' "${@/%//smaps_rollup}"; }   # /proc/PID...
rss_kb() { awk '/^Rss:/ {s += $2} END {print s + 0}' "${@/%//smaps_rollup}"; }

out=$repo/docs/bench/shim-memory.txt
mkdir -p "$repo/docs/bench"
{
  echo "shim-memory: $(date -u +%FT%TZ)"
  machine_line
  shim=$(dirname "$(readlink -f "$BIN")")/libexec/ffrtmp/ffrtmp-shim
  echo "shim: ${shim#"$repo"/}, $(stat -c %s "$shim") bytes, $(ldd "$shim" >/dev/null 2>&1 && echo dynamic || echo static); peer: $(timeout --version | head -1)"
  printf '%-5s %-26s %-26s %s\n' N "ffrtmp-shim PSS (per job)" "timeout PSS (per job)" "ratio shim/timeout"
} | tee "$out"
for n in "${counts[@]}"; do
  shims=() peer_pids=()
  for ((i = 0; i < n; i++)); do
    "$BIN/ffrtmp" run --detach --job-id "m$n-$i" -- /bin/sleep 600 >/dev/null
    read -r pid _ < "$work/state/jobs/m$n-$i/shim.pid"
    shims+=("/proc/$pid")
  done
  for ((i = 0; i < n; i++)); do
    timeout 1d /bin/sleep 600 &
    peer_pids+=($!)
  done
  sleep 1   # both settled: the shims are in their wait loop, timeout in sigsuspend
  s_pss=$(pss_kb "${shims[@]}") s_rss=$(rss_kb "${shims[@]}")
  t_pss=$(pss_kb "${peer_pids[@]/#//proc/}") t_rss=$(rss_kb "${peer_pids[@]/#//proc/}")
  [ "$s_pss" -gt 0 ] && [ "$t_pss" -gt 0 ] || { echo "could not read smaps_rollup (shim $s_pss kB, timeout $t_pss kB)" >&2; exit 1; }
  awk -v n="$n" -v s="$s_pss" -v t="$t_pss" -v sr="$s_rss" -v tr="$t_rss" 'BEGIN {
    printf "%-5d %-26s %-26s %.2f\n", n, sprintf("%d kB (%.0f kB; RSS %.0f)", s, s / n, sr / n),
           sprintf("%d kB (%.0f kB; RSS %.0f)", t, t / n, tr / n), s / t }' | tee -a "$out"
  # Tear down this round: the workloads die, each shim records it and exits; timeout forwards TERM.
  kill -TERM "${peer_pids[@]}" 2>/dev/null || true
  wait "${peer_pids[@]}" 2>/dev/null || true
  peer_pids=()
  cgroup_cleanup "$PARENT"
  for s in "${shims[@]}"; do while [ -e "$s" ]; do sleep 0.05; done; done
  rm -rf "$work/state/jobs"
done
echo "PSS = proportional set size: shared pages divided among the processes mapping them." | tee -a "$out"
