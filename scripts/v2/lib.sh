# shellcheck shell=bash
# Helpers of the in-VM cgroup v2 suite (scripts/v2/suite.sh; sourced, not run). Everything here
# reads the kernel's own view (cgroupfs, /proc, dmesg); nothing trusts ffrtmp's output alone.
#
# The caller sets BIN, REPO, RW (the results dir), STATE, PARENT, T (scratch) and RESULTS.

# shellcheck source=scripts/lib/checks.sh
. "$REPO/scripts/lib/checks.sh"   # f, stat_field, alive, gone, clear_agent_env

CG=/sys/fs/cgroup
FF=$BIN/ffrtmp
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- the check harness
# check NAME FUNCTION: one line per check in the results file ("ok N - NAME" or
# "not ok N - NAME: REASON"). known_bug NAME FUNCTION: the same, but the line carries
# "# KNOWN BUG" and counts neither as a pass nor as a failure (the product is wrong today).
n=0 pass=0 fail=0 known=0
out() { echo "$*" >> "$RESULTS"; echo "$*"; }
note() { out "# $*"; }
check() {
  n=$((n + 1)); REASON=""
  if "$2"; then pass=$((pass + 1)); out "ok $n - $1"
  else fail=$((fail + 1)); out "not ok $n - $1: ${REASON:-failed}"; fi
}
known_bug() {
  n=$((n + 1)); REASON=""; known=$((known + 1))
  if "$2"; then out "ok $n - $1 # KNOWN BUG (passes now: remove the mark)"
  else out "not ok $n - $1: ${REASON:-failed} # KNOWN BUG"; fi
}

# ---------------------------------------------------------------- waiting, time
now_us() { echo "${EPOCHREALTIME/./}"; }
wait_for() {  # SECONDS CMD...: polls every 0.1 s
  local deadline=$(( $(now_us) + $1 * 1000000 )); shift
  until "$@"; do [ "$(now_us)" -lt "$deadline" ] || return 1; sleep 0.1; done
}
# Integer arithmetic with decimals: calc 'EXPR' (awk, 3 decimals).
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
# calc_ok 'CONDITION': exit 0 when the awk condition holds.
calc_ok() { awk "BEGIN { exit !($1) }"; }

# ---------------------------------------------------------------- processes we start
# Every process this suite starts outside ffrtmp is recorded here (pid and start time), and
# only those are killed at the end.
OURS=()
ours() { local st; st=$(stat_field "$1" 22) && OURS+=("$1:$st"); }
kill_ours() {
  local e pid st
  for e in "${OURS[@]}"; do
    pid=${e%%:*} st=${e#*:}
    [ "$(stat_field "$pid" 22 2>/dev/null)" = "$st" ] && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  return 0
}

# ---------------------------------------------------------------- jobs and cgroups
jobdir() { echo "$STATE/jobs/$1"; }
jobcg() { echo "$CG$PARENT/$1"; }
# "PID STARTTIME PGID" written by the shim.
wpid() { local f; f=$(jobdir "$1")/workload.pid; [ -s "$f" ] && cut -d' ' -f1 "$f"; }
wstart() { cut -d' ' -f2 "$(jobdir "$1")/workload.pid"; }
# The job's workload runs (not a zombie) and, when given, execs COMM.
job_running() {  # JOB [COMM]
  local p; p=$(wpid "$1") && alive "$p" || return 1
  [ -z "${2:-}" ] || [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ]
}
# The v2 cgroup of PID (the 0:: line of /proc/PID/cgroup).
cg_of() { sed -n 's/^0:://p' "/proc/$1/cgroup" 2>/dev/null; }
has_exit() { [ -s "$(jobdir "$1")/exit.json" ]; }
exit_field() { jq -r "$2" "$(jobdir "$1")/exit.json" 2>/dev/null; }
# One job's entry of `ffrtmp ps --json` (the whole array is cached in PS_JSON by ps_json).
ps_json() { PS_JSON=$("$FF" ps --json --interval "${1:-0.5}" 2>>"$T/ps.err"); }
ps_job() { jq -c --arg j "$1" '.[] | select(.job_id == $j)' <<<"$PS_JSON"; }
# utime+stime of PID in clock ticks (fields 14 and 15 of /proc/PID/stat).
cpu_ticks() { local u s; u=$(stat_field "$1" 14) && s=$(stat_field "$1" 15) && echo $((u + s)); }
# A key of a flat-keyed cgroup file (cpu.stat, pids.events, memory.events).
cg_key() { awk -v k="$2" '$1 == k { print $2 }' "$1" 2>/dev/null; }
# Job cgroup directories left under the parent.
leftover_cgroups() { [ -d "$CG$PARENT" ] && find "$CG$PARENT" -mindepth 1 -type d 2>/dev/null; return 0; }
# Every pid in any cgroup under the parent (all of them ours: the parent is private).
parent_pids() { [ -d "$CG$PARENT" ] && find "$CG$PARENT" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -un; return 0; }

# Ends whatever is left under the parent: `ffrtmp kill` for live jobs, then cgroup.kill and
# rmdir, deepest first. Used by the clean-up only.
cgroup_teardown() {
  local d i
  [ -d "$CG$PARENT" ] || return 0
  while IFS= read -r d; do echo 1 > "$d/cgroup.kill" 2>/dev/null; done < <(find "$CG$PARENT" -mindepth 1 -type d)
  for ((i = 0; i < 50; i++)); do
    find "$CG$PARENT" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null
    rmdir "$CG$PARENT" 2>/dev/null
    [ -d "$CG$PARENT" ] || return 0
    sleep 0.1
  done
  echo "warning: could not remove $CG$PARENT" >&2
}
