#!/usr/bin/env bash
# Tearing down a job of 50 processes, 20 of which called setsid (ffrtmp-testload escape: a
# group member forks a child that leaves the process group and ignores SIGTERM).
#   peer:   what a supervisor without cgroups does: kill -- -PGID (TERM, then KILL after the
#           grace if the group is not empty), done when every process of the group has exited
#           (pidfds opened before the kill, so the timing has no polling in it);
#   ffrtmp: ffrtmp kill JOB (TERM to the group and every cgroup member, then a cgroup-wide
#           KILL after the grace), done when the command returns (cgroup empty, exit record
#           written, cgroup removed).
# Two variants: graceful (SIGTERM, grace 2 s) and immediate (SIGKILL). For each run, the
# processes of the tree still alive 0.5 s after the teardown are counted (same pid and start
# time as before the kill). The peer's tree runs in an accounting-only cgroup of ours, so its
# escapees can be counted and then removed; its kill never uses it.
#
#   scripts/bench/kill-teardown.sh [ROUNDS]      (root; default 5; writes docs/bench/kill-teardown.txt)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/scripts/lib/harness.sh"
harness_require python3 setsid
rounds=${1:-5}
GRACE=2

work=$(mktemp -d /tmp/ffrtmp-bench-kill-XXXXXX)
PARENT=/ffrtmp-bench-kill-$$
export FFRTMP_STATE_DIR=$work/state FFRTMP_CGROUP_PARENT=$PARENT
cleanup() { cgroup_cleanup "$PARENT"; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
ACCT=/sys/fs/cgroup/freezer$PARENT/peer
mkdir -p "$ACCT"

# The workload: our own script, no job data in it. 1 leader + 20 x (member + setsid escapee) + 9 sleepers = 50.
cat > "$work/fan.sh" <<'EOF'
t=$1
i=0; while [ $i -lt 20 ]; do "$t" escape 600 600 >/dev/null & i=$((i + 1)); done
i=0; while [ $i -lt 9 ]; do "$t" sleep 600 & i=$((i + 1)); done
wait
EOF
TL=$BIN/ffrtmp-testload

now_us() { echo "${EPOCHREALTIME/./}"; }
# Start time of a live process; nothing for a zombie (dead: this box's init reaps orphans
# with a delay, and a zombie holds nothing but its pid).
start_of() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; set -- $s; [ "$1" != Z ] && echo "${20}"; }
snapshot() { local p; for p in $(cat "$1/cgroup.procs"); do echo "$p $(start_of "$p")"; done; }   # CGDIR
survivors() { local n=0 p s; while read -r p s; do [ -n "$s" ] && [ "$(start_of "$p")" = "$s" ] && n=$((n + 1)); done <<<"$1"; echo $n; }
wait_count() {  # CGDIR N: until the cgroup holds N processes (all forked and escaped)
  local i
  for ((i = 0; i < 300; i++)); do
    [ "$(wc -l < "$1/cgroup.procs")" -ge "$2" ] && { sleep 0.3; return 0; }
    sleep 0.05
  done
  echo "tree did not reach $2 processes in $1" >&2; return 1
}

# The peer's group kill, timed without polling noise: a pidfd is opened for every member of
# the group first, then TERM (or KILL) goes to the group, and the time runs until every pidfd
# has reported its process's exit; after the grace, KILL to the group. Prints microseconds.
cat > "$work/groupkill.py" <<'EOF2'
import os, select, signal, sys, time
pgid, sig, grace = int(sys.argv[1]), getattr(signal, "SIG" + sys.argv[2]), float(sys.argv[3])
fds = []
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        f = open("/proc/%s/stat" % d).read().rsplit(")", 1)[1].split()
        if int(f[2]) == pgid and f[0] != "Z":
            fds.append(os.pidfd_open(int(d)))
    except (OSError, ValueError):
        pass
p = select.poll()
for fd in fds:
    p.register(fd, select.POLLIN)
left = set(fds)
def wait(until):
    while left and time.monotonic() < until:
        for fd, _ in p.poll(max(0, int((until - time.monotonic()) * 1000)) + 1):
            left.discard(fd)
            p.unregister(fd)
t0 = time.monotonic()
os.killpg(pgid, sig)
wait(t0 + (grace if sig == signal.SIGTERM else 3600))
if left:
    os.killpg(pgid, signal.SIGKILL)
    wait(time.monotonic() + 3600)
print(int((time.monotonic() - t0) * 1e6), len(fds))
EOF2

# peer: VARIANT -> "latency_us escapees"
peer_round() {
  local sig=$1 pgid us members snap
  sh -c 'echo $$ > "$1/cgroup.procs"; exec setsid sh "$2" "$3"' _ "$ACCT" "$work/fan.sh" "$TL" &
  pgid=$!
  wait_count "$ACCT" 50
  snap=$(snapshot "$ACCT")
  read -r us members < <(python3 "$work/groupkill.py" "$pgid" "$sig" "$GRACE")
  [ "$members" = 30 ] || { echo "the group had $members members, expected 30 (the leader, 20 escapers' parents, 9 sleepers)" >&2; exit 1; }
  wait "$pgid" 2>/dev/null || true
  sleep 0.5
  echo "$us $(survivors "$snap")"
  # Remove what the group kill left behind (the escapees), so the next round starts clean.
  echo FROZEN > "$ACCT/freezer.state"
  # shellcheck disable=SC2046  # one pid per line, split on purpose
  kill -KILL $(cat "$ACCT/cgroup.procs") 2>/dev/null || true
  echo THAWED > "$ACCT/freezer.state"
  while [ -n "$(for p in $(cat "$ACCT/cgroup.procs"); do start_of "$p"; done)" ]; do sleep 0.05; done
}

# ffrtmp: VARIANT ROUND -> "latency_us escapees"
ffrtmp_round() {
  local sig=$1 id=kt-$1-$2 dir t0 t1 snap
  "$BIN/ffrtmp" run --detach --job-id "$id" -- /bin/sh "$work/fan.sh" "$TL" >/dev/null
  dir=/sys/fs/cgroup/freezer$PARENT/$id
  wait_count "$dir" 50
  snap=$(snapshot "$dir")
  t0=$(now_us)
  "$BIN/ffrtmp" kill "$id" --signal "$sig" --grace "$GRACE" >/dev/null 2>>"$work/kill.log"
  t1=$(now_us)
  sleep 0.5
  echo "$((t1 - t0)) $(survivors "$snap")"
}

out=$repo/docs/bench/kill-teardown.txt
mkdir -p "$repo/docs/bench"
{
  echo "kill-teardown: $(date -u +%FT%TZ), $rounds rounds per cell, alternating, grace ${GRACE}s"
  machine_line
  echo "job: 50 processes (1 leader, 20 members that each fork a setsid child ignoring SIGTERM, 9 sleepers)"
} | tee "$out"
for sig in TERM KILL; do
  lp=() lf=() ep=() ef=()
  for ((r = 0; r < rounds; r++)); do
    read -r l e < <(peer_round "$sig"); [ -n "${e:-}" ] || exit 1; lp+=("$l"); ep+=("$e")
    read -r l e < <(ffrtmp_round "$sig" "$r"); [ -n "${e:-}" ] || exit 1; lf+=("$l"); ef+=("$e")
  done
  mp=$(printf '%s\n' "${lp[@]}" | median) mf=$(printf '%s\n' "${lf[@]}" | median)
  sp=$(printf '%s\n' "${ep[@]}" | awk '{s += $1} END {print s}') sf=$(printf '%s\n' "${ef[@]}" | awk '{s += $1} END {print s}')
  label=$([ $sig = TERM ] && echo "graceful (SIGTERM, grace ${GRACE}s)" || echo "immediate (SIGKILL)")
  {
    echo "$label:"
    awk -v m="$mp" -v s="$sp" -v r="$rounds" 'BEGIN { printf "  kill -- -PGID:  median %.1f ms, processes left alive: %d in %d runs (%.1f per run)\n", m / 1000, s, r, s / r }'
    awk -v m="$mf" -v s="$sf" -v r="$rounds" 'BEGIN { printf "  ffrtmp kill:    median %.1f ms, processes left alive: %d in %d runs (%.1f per run)\n", m / 1000, s, r, s / r }'
    echo "  runs (ms): pgid $(printf '%s\n' "${lp[@]}" | awk '{printf "%.1f ", $1 / 1000}')| ffrtmp $(printf '%s\n' "${lf[@]}" | awk '{printf "%.1f ", $1 / 1000}')"
  } | tee -a "$out"
done
