#!/usr/bin/env bash
# The chaos suite: real ffrtmp-master (SQLite), real `ffrtmp agent`, real ffmpeg transcodes,
# real cgroupfs, a real tmpfs. Prints one `ok N - ...` / `not ok N - ...` line per check and
# `N passed, N failed` at the end; exits non-zero when any check failed. Results also go to
# docs/chaos/last-run.txt (and a copy in last-run-quick.txt or last-run-long.txt).
#
#   scripts/chaos/run.sh [--quick|--long]      (root; --quick is the default, CI runs it)
#
#   1. agent kill -9 loop: wrapped jobs with known outcomes (ffmpeg testsrc of a given duration
#      exits 0; a missing input exits 1; a timeout_sec ends ffmpeg with SIGTERM, exit 255); the
#      agent is killed -9 at random moments and restarted. Every workload must survive every
#      outage (same pid and start time), and every job must reach the master once, with its
#      true outcome.
#   2. master kill -9 and an outage (10 s quick, 65 s long: past --node-lost-after 30): jobs
#      that end meanwhile are delivered after the master is back; nothing is lost.
#   3. full disk: the state dir on a tiny tmpfs mounted here; `ffrtmp run` must fail cleanly
#      (exit 125, ENOSPC named, no signal, no half-made job), the other jobs' journal intact.
#   4. torn journal files: a truncated, a garbage and an empty exit.json, a torn spec.json:
#      `ffrtmp ps --json` names each as corrupt, the other jobs are unaffected.
#   5. fleet dispatch (scripts/chaos/fleet.sh, its own master with a 3 s lease): kill -9 of an
#      agent right after the master assigned it a job, poll answers lost by a proxy, two agents
#      with one NODE_ID, a full state dir, kill -9 during a cancel's grace period.
#
# Environment: FFRTMP_BIN_DIR (default .build/debug), CHAOS_SEED (default: from the clock;
# printed, so a run can be replayed), CHAOS_PORT_LO/HI (default 18300-18399).
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/scripts/lib/harness.sh"

mode=quick
case ${1:-} in
  ""|--quick) mode=quick ;;
  --long) mode=long ;;
  -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--quick|--long]" >&2; exit 2 ;;
esac
harness_require ffmpeg jq curl sha256sum
seed=${CHAOS_SEED:-$(( ${EPOCHREALTIME/./} % 32768 ))}
RANDOM=$seed
suite_start=$SECONDS

if [ $mode = quick ]; then
  N_OK=8 N_BADIN=1 N_BADOUT=1 N_TIMEOUT=2 MAXJOBS=12 KILLS=3 OK_MIN=4 OK_MAX=24 TO_MIN=5 TO_MAX=12
  DOWN_MIN=1 DOWN_MAX=3 GAP_MIN=1 GAP_MAX=4 OUTAGE=10 M_JOBS=5 FULL_SLEEP=3
else
  N_OK=38 N_BADIN=4 N_BADOUT=3 N_TIMEOUT=5 MAXJOBS=25 KILLS=5 OK_MIN=5 OK_MAX=100 TO_MIN=8 TO_MAX=50
  DOWN_MIN=2 DOWN_MAX=15 GAP_MIN=8 GAP_MAX=30 OUTAGE=65 M_JOBS=12 FULL_SLEEP=6
fi

work=$(mktemp -d /tmp/ffrtmp-chaos-XXXXXX)
STATE=$work/state
PARENT=/ffrtmp-chaos-$$
AUTH_HDR=$work/auth.hdr
TINY=$work/tiny
export FFRTMP_STATE_DIR=$STATE FFRTMP_CGROUP_PARENT=$PARENT
unset FFRTMP_CGROUP_DRIVER FFRTMP_API_KEY
mkdir -p "$STATE" "$work/media" "$TINY"
chown nobody: "$work/media"  # the jobs' MEDIA_ROOTS, owned by their JOB_USER
harness_key "$work"
AGENT_PID="" MASTER_PID="" PROXY_PID=""
declare -A FPID=()  # section 5's agents, by name

cleanup() {
  local p
  for p in "${FPID[@]}"; do stop_pid "$p" 5; done
  stop_pid "$PROXY_PID" 2
  stop_pid "$AGENT_PID" 5
  stop_pid "$MASTER_PID" 5
  mountpoint -q "$work/fleet/tinystate" && umount "$work/fleet/tinystate"
  cgroup_cleanup "$PARENT"
  mountpoint -q "$TINY" && umount "$TINY"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- reporting -------------------------------------------------------------------------
passed=0 failed=0 n=0
lines=()
say() { echo "$*"; lines+=("$*"); }
pass() { n=$((n + 1)); passed=$((passed + 1)); say "ok $n - $1"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); say "not ok $n - $1${2:+ # $2}"; }
check() {  # DESC CMD...   (pass when CMD succeeds)
  local d=$1; shift
  if "$@"; then pass "$d"; else fail "$d"; fi
}
note() { say "# $*"; }
jqtest() { jq -e "$@" >/dev/null 2>&1; }   # FILTER on stdin: true when it yields true

# ---- processes and journal -------------------------------------------------------------
proc_start() {  # PID -> start time (field 22 of /proc/PID/stat), empty when gone
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  set -- $s
  echo "${20}"
}
alive_as() { [ "$(proc_start "$1")" = "$2" ]; }  # PID START
jdir() { echo "$STATE/jobs/$1.a1"; }
workload_of() { local f; f=$(jdir "$1")/workload.pid; [ -s "$f" ] && awk '{print $1, $2}' "$f"; }

AGENT_CONF=$work/worker.env
agent_start() {
  "$BIN/ffrtmp" agent --config "$AGENT_CONF" >>"$work/agent.log" 2>&1 &
  AGENT_PID=$!
}
agent_kill9() {
  kill -KILL "$AGENT_PID"
  wait "$AGENT_PID" 2>/dev/null
  AGENT_PID=""
}

declare -A DUR WANT_EXIT WANT_STATUS FIRST_PID
IDS=()
params_testsrc() { echo "{\"input\":\"testsrc\",\"resolution\":\"160x120\",\"fps\":5,\"duration_seconds\":$1,\"realtime\":true$2}"; }
submit() {  # ID KIND ARG
  local id=$1 kind=$2 arg=$3 p
  case $kind in
    ok) p=$(params_testsrc "$arg" ""); WANT_EXIT[$id]=0 WANT_STATUS[$id]=completed DUR[$id]=$arg ;;
    timeout) p=$(params_testsrc 3600 ",\"resource_limits\":{\"timeout_sec\":$arg}"); WANT_EXIT[$id]=255 WANT_STATUS[$id]=timed_out DUR[$id]=$arg ;;
    # A real workload failure: ffmpeg (as JOB_USER) reads a file that is not media and exits 1.
    badin) head -c 4096 /dev/urandom > "$work/media/garbage-$id.mp4"
           p="{\"input\":\"$work/media/garbage-$id.mp4\"}"; WANT_EXIT[$id]=1 WANT_STATUS[$id]=failed DUR[$id]=0 ;;
    # Refused before anything starts (the output's directory is missing): no exit code at all.
    badout) p=$(params_testsrc 2 ",\"output\":\"$work/media/no-such-dir/$id.mp4\""); WANT_EXIT[$id]=null WANT_STATUS[$id]=failed DUR[$id]=0 ;;
  esac
  IDS+=("$id")
  api POST /api/jobs "{\"id\":\"$id\",\"engine\":\"ffmpeg\",\"wrapper_enabled\":true,\"wrapper_constraints\":{\"cpu_max\":\"50000 100000\",\"memory_max_mb\":256},\"parameters\":$p}" >/dev/null
  [ "$API_STATUS" = 201 ] || { echo "submit $id: HTTP $API_STATUS" >&2; return 1; }
}
job_json() { api GET "/api/jobs/$1"; }
terminal() {  # ID...: every one is in a terminal state at the master
  local id s
  for id in "$@"; do
    s=$(job_json "$id" | jq -r .status 2>/dev/null)
    case $s in completed|failed|timed_out|canceled|rejected) ;; *) return 1 ;; esac
  done
}
dup_count() { curl -s -m 5 "$MASTER_URL/metrics" | awk '$1 == "ffrtmp_master_results_duplicate_total" {print $2}'; }

# The master's record of each job against what we know to be true. Prints problems; empty = fine.
verify_jobs() {  # ID...
  local id j got
  for id in "$@"; do
    j=$(job_json "$id")
    got=$(jq -r '[.status, .attempt, .node_id, .platform_sla, (.result.metrics.exit_code // "null"), (.result.metrics.pid // "null"), (.result.metrics.exec_duration // "null")] | map(tostring) | join(" ")' <<<"$j" 2>/dev/null)
    set -- $got
    local st=${1:-?} att=${2:-?} node=${3:-?} sla=${4:-?} code=${5:-?} pid=${6:-?} dur=${7:-?}
    [ "$st" = "${WANT_STATUS[$id]}" ] || { echo "$id: status $st, want ${WANT_STATUS[$id]}"; continue; }
    [ "$att" = 1 ] || echo "$id: attempt $att (dispatched again)"
    [ "$node" = "$NODE" ] || echo "$id: node $node"
    [ "$sla" = true ] || echo "$id: platform_sla $sla"
    [ "${code%.0}" = "${WANT_EXIT[$id]}" ] || echo "$id: exit_code $code, want ${WANT_EXIT[$id]}"
    if [ -n "${FIRST_PID[$id]:-}" ] && [ "${pid%.0}" != "${FIRST_PID[$id]}" ]; then echo "$id: pid $pid, first seen ${FIRST_PID[$id]}"; fi
    # A duration ends when ffmpeg does: never much before its -t or its timeout; slack for a busy box.
    if awk -v d="$dur" -v want="${DUR[$id]}" 'BEGIN { exit !(d != "null" && (d + 0.5 < want || d > want + 30)) }'; then
      echo "$id: exec_duration $dur, want about ${DUR[$id]}"
    fi
  done
}

remember_pids() {  # records the first pid seen for every job that has one
  local id w
  for id in "${IDS[@]}"; do
    [ -n "${FIRST_PID[$id]:-}" ] && continue
    w=$(workload_of "$id") && FIRST_PID[$id]=${w%% *}
  done
}

# Live workloads: "ID PID START" for each job with a workload and no exit record.
live_workloads() {
  local id w
  for id in "${IDS[@]}"; do
    [ -e "$(jdir "$id")/exit.json" ] && continue
    w=$(workload_of "$id") || continue
    alive_as $w && echo "$id $w"
  done
}

# Seconds until the soonest expected end of a live job (ok or timeout), from its spec's creation.
soonest_end() {
  local id now best=""
  now=$(date +%s.%N)
  while read -r id _; do
    [ "${DUR[$id]}" = 0 ] && continue
    local created
    created=$(jq -r .created_at_unix_ns "$(jdir "$id")/spec.json" 2>/dev/null) || continue
    best=$(awk -v b="$best" -v c="$created" -v d="${DUR[$id]}" -v now="$now" 'BEGIN { r = c / 1e9 + d - now; if (r > 0.7 && (b == "" || r < b)) b = r; print b }')
  done < <(live_workloads)
  echo "$best"
}

# =====================================================================================
MPORT=$(free_port "${CHAOS_PORT_LO:-18300}" "${CHAOS_PORT_HI:-18399}") || exit 1
NODE=chaos-$$
note "ffrtmp chaos suite, $mode, seed $seed, $(date -u +%FT%TZ)"
note "$(machine_line)"
harness_node_key "$work" "$NODE" "sqlite:$work/master.db" || exit 1
master_start "$work" "$MPORT" "sqlite:$work/master.db" || exit 1
cat > "$AGENT_CONF" <<EOF
MASTER_URL=$MASTER_URL
FFRTMP_API_KEY_FILE=$work/node.key
NODE_ID=$NODE
MAX_JOBS=$MAXJOBS
POLL_INTERVAL=0.2
HEARTBEAT_INTERVAL=1
WRAPPER_ENABLED=true
FFMPEG_PATH=$(command -v ffmpeg)
FFRTMP_STATE_DIR=$STATE
FFRTMP_CGROUP_PARENT=$PARENT
JOB_USER=nobody
MEDIA_ROOTS=$work/media
EOF

# ---- 1. agent kill -9 loop ----------------------------------------------------------------
note "1. agent kill -9 loop: $((N_OK + N_BADIN + N_BADOUT + N_TIMEOUT)) jobs, $KILLS kills"
i=0
kinds=()
# One job outlives every kill, so no kill finds nothing to test.
kinds+=("ok $((KILLS * (GAP_MAX + DOWN_MAX + 2) + 10))")
for ((k = 1; k < N_OK; k++)); do kinds+=("ok $((OK_MIN + RANDOM % (OK_MAX - OK_MIN + 1)))"); done
for ((k = 0; k < N_TIMEOUT; k++)); do kinds+=("timeout $((TO_MIN + RANDOM % (TO_MAX - TO_MIN + 1)))"); done
for ((k = 0; k < N_BADIN; k++)); do kinds+=("badin 0"); done
for ((k = 0; k < N_BADOUT; k++)); do kinds+=("badout 0"); done
# Submission order shuffled, so failures and long jobs are spread over the run.
while read -r kind arg; do submit "k$i" "$kind" "$arg" || exit 1; i=$((i + 1)); done < <(printf '%s\n' "${kinds[@]}" | shuf --random-source=<(yes "$seed"))
K_IDS=("${IDS[@]}")
agent_start
any_live() { [ -n "$(live_workloads)" ]; }
wait_until 30 any_live || { fail "agent started jobs" "none running after 30 s; see agent log"; }

survived_total=0 ended_down_total=0
for ((kill_no = 1; kill_no <= KILLS; kill_no++)); do
  sleep $((GAP_MIN + RANDOM % (GAP_MAX - GAP_MIN + 1))).$((RANDOM % 10))
  remember_pids
  snap_at=$(date +%s.%N)
  snapshot=$(live_workloads)
  down=$((DOWN_MIN + RANDOM % (DOWN_MAX - DOWN_MIN + 1))).$((RANDOM % 10))
  if [ $kill_no = 1 ]; then
    # The first outage is stretched over the next job's end, so "ended while the agent was
    # down" is exercised on every run, not by luck.
    s=$(soonest_end)
    [ -n "$s" ] && down=$(awk -v s="$s" 'BEGIN { d = s + 1.5; if (d > 25) d = 25; printf "%.1f", d }')
  fi
  agent_kill9
  sleep "$down"
  survived=0 ended=0 dead=""
  while read -r id pid start; do
    [ -n "$id" ] || continue
    if alive_as "$pid" "$start"; then
      survived=$((survived + 1))
    elif [ "$(jq -r '"\(.pid) \(.exit_code)"' "$(jdir "$id")/exit.json" 2>/dev/null)" = "$pid ${WANT_EXIT[$id]}" ]; then
      # Ended on its own: the shim's record has its pid and the exit code it was meant to end
      # with (a workload taken down with the agent would show a signal), and says it ended after
      # we saw it running (most end after the kill; one may end between snapshot and kill).
      e=$(jq -r .ended_at_unix_ns "$(jdir "$id")/exit.json")
      if awk -v e="$e" -v k="$snap_at" 'BEGIN { exit !(e / 1e9 >= k - 0.05) }'; then ended=$((ended + 1)); else dead+=" $id(record predates the snapshot)"; fi
    else
      dead+=" $id"
    fi
  done <<<"$snapshot"
  total=$(grep -c . <<<"$snapshot")
  if [ -z "$dead" ] && [ "$total" -gt 0 ]; then
    pass "kill -9 #$kill_no of the agent (down ${down}s): $total workloads untouched ($survived still running, $ended ended on their own with a record)"
  else
    fail "kill -9 #$kill_no of the agent (down ${down}s): every running workload survives" \
      "$total live before the kill$([ "$total" = 0 ] && echo ': nothing was tested'); died or ended with a wrong outcome:${dead:- none}"
  fi
  survived_total=$((survived_total + survived)); ended_down_total=$((ended_down_total + ended))
  agent_start
done
check "at least one job ended while the agent was down ($ended_down_total did)" test "$ended_down_total" -gt 0
longest=0
for id in "${K_IDS[@]}"; do [ "${DUR[$id]}" -gt "$longest" ] && longest=${DUR[$id]}; done
if ! wait_until $((longest + 90)) terminal "${K_IDS[@]}"; then
  fail "every job of the kill loop reached a final state at the master" "$(for id in "${K_IDS[@]}"; do printf '%s=%s ' "$id" "$(job_json "$id" | jq -r .status)"; done)"
fi
remember_pids
problems=$(verify_jobs "${K_IDS[@]}")
if [ -z "$problems" ]; then
  pass "all ${#K_IDS[@]} jobs at the master with their true outcome (status, exit code, attempt 1, same pid, duration)"
else
  fail "all ${#K_IDS[@]} jobs at the master with their true outcome" "$(tr '\n' ';' <<<"$problems")"
fi
extra=$(cd "$STATE/jobs" && for d in k*.a*; do [[ $d == *.a1 || $d == 'k*.a*' ]] || printf '%s ' "$d"; done)
check "no job was started twice (one journal attempt each)${extra:+: $extra}" test -z "$extra"
delivered=$(cd "$STATE/outbox/delivered" && ls k*.json 2>/dev/null | sort | tr '\n' ' ')
want_delivered=$(for id in "${K_IDS[@]}"; do echo "$id.1.json"; done | sort | tr '\n' ' ')
check "exactly one delivered result per job in the agent's outbox" test "$delivered" = "$want_delivered"
pending=$(ls "$STATE/outbox"/*.json "$STATE/outbox/rejected"/*.json 2>/dev/null | wc -l)
check "outbox empty: nothing pending, nothing rejected ($pending)" test "$pending" = 0
dups=$(dup_count)
# A kill between the master's commit and the agent's rename makes one harmless resend (the
# master dedupes on job and attempt); more than one per kill would mean results are resent
# without cause.
check "master duplicate-result counter ${dups:-?} <= $KILLS kills (resends deduplicated)" test "${dups:-99}" -le "$KILLS"
note "kill loop: $survived_total workloads ran through an agent outage, $ended_down_total ended during one, duplicates $dups"

# ---- 2. master kill -9 and outage ---------------------------------------------------------
note "2. master kill -9, ${OUTAGE}s outage, $M_JOBS jobs ending during it"
M_IDS=()
IDS=()
for ((k = 0; k < M_JOBS - 1; k++)); do
  # Each ends during the outage: started within ~2 s, the master dies after they run.
  submit "m$k" ok $((5 + (OUTAGE - 6) * k / (M_JOBS - 1))) || exit 1
done
submit "m-across" ok $((OUTAGE + 8)) || exit 1   # outlives the outage, ends after the master is back
M_IDS=("${IDS[@]}")
wait_until 30 bash -c 'for id in "$@"; do [ -s "'"$STATE"'/jobs/$id.a1/workload.pid" ] || exit 1; done' _ "${M_IDS[@]}" \
  || fail "outage jobs all started" "see agent log"
remember_pids
kill -KILL "$MASTER_PID"; wait "$MASTER_PID" 2>/dev/null; MASTER_PID=""
sleep "$OUTAGE"
check "master really down during the outage" bash -c "! curl -s -m 2 '$MASTER_URL/health' >/dev/null"
check "agent still running through the master outage" kill -0 "$AGENT_PID"
ended=0
for id in "${M_IDS[@]}"; do [ -e "$(jdir "$id")/exit.json" ] && ended=$((ended + 1)); done
depth=$(ls "$STATE/outbox"/m*.json 2>/dev/null | wc -l)
check "$ended jobs ended during the outage, $depth results queued in the outbox" test "$ended" -ge $((M_JOBS - 1)) -a "$depth" -ge $((M_JOBS - 1))
master_start "$work" "$MPORT" "sqlite:$work/master.db" || exit 1
back_at=$(date +%s.%N)
if wait_until $((OUTAGE + 90)) terminal "${M_IDS[@]}"; then
  took=$(awk -v a="$back_at" 'BEGIN { "date +%s.%N" | getline b; printf "%.1f", b - a }')
  pass "every outage job reported after the master came back (last one ${took}s after the restart)"
else
  fail "every outage job reported after the master came back" "$(for id in "${M_IDS[@]}"; do printf '%s=%s ' "$id" "$(job_json "$id" | jq -r .status)"; done)"
fi
problems=$(verify_jobs "${M_IDS[@]}")
check "outage jobs at the master with their true outcome${problems:+: $(tr '\n' ';' <<<"$problems")}" test -z "$problems"
pending=$(ls "$STATE/outbox"/*.json "$STATE/outbox/rejected"/*.json 2>/dev/null | wc -l)
check "outbox drained after the outage ($pending left)" test "$pending" = 0
dups=$(dup_count)
check "restarted master's duplicate counter ${dups:-?} <= 1" test "${dups:-99}" -le 1
node_status=$(api GET /api/nodes | jq -r --arg n "$NODE" '.[] | select(.id == $n) | .status')
check "node $NODE online again (status $node_status)" test "$node_status" = online
stop_pid "$AGENT_PID" 10
check "agent stops cleanly on SIGTERM after all of it" grep -q "agent stopping" "$work/agent.log"
AGENT_PID=""

# ---- 3. full disk -------------------------------------------------------------------------
note "3. full disk: state dir on a 512 KiB tmpfs"
mount -t tmpfs -o size=512k,mode=0700 ffrtmp-chaos-tiny "$TINY" || { fail "mount a tmpfs" ""; }
FD=$TINY/state
fdrun() { "$BIN/ffrtmp" run --state-dir "$FD" "$@"; }
fdrun --job-id before -- "$BIN/ffrtmp-testload" exit 7 >/dev/null 2>&1
check "a job before the disk fills runs (exit 7)" test $? = 7
fdrun --detach --job-id across -- "$BIN/ffrtmp-testload" sleep "$FULL_SLEEP" >/dev/null 2>&1
before_sum=$(sha256sum "$FD/jobs/before/exit.json" "$FD/jobs/before/spec.json" | sha256sum)
dd if=/dev/zero of="$TINY/fill" bs=4k 2>/dev/null   # until ENOSPC
avail=$(df --output=avail "$TINY" | tail -1 | tr -d ' ')
note "filled: ${avail} KiB left"
for variant in "" "--detach" "--json"; do
  out=$(cd "$work" && fdrun $variant --job-id "full${variant#--}" -- "$BIN/ffrtmp-testload" exit 0 2>&1)
  rc=$?
  if [ $rc = 125 ] && grep -q "No space left on device" <<<"$out"; then
    pass "ffrtmp run ${variant:-(foreground)} on a full disk: exit 125 naming ENOSPC"
  else
    fail "ffrtmp run ${variant:-(foreground)} on a full disk: exit 125 naming ENOSPC" "exit $rc: $(head -c 300 <<<"$out")"
  fi
  check "  ... no signal death (exit $rc < 128), no core file, no half-made job dir" \
    test $rc -lt 128 -a ! -e "$FD/jobs/full${variant#--}" -a -z "$(ls "$work"/core* 2>/dev/null)"
done
ps_out=$("$BIN/ffrtmp" ps --json --state-dir "$FD" 2>&1)
check "ffrtmp ps works on a full disk and lists the jobs" test "$(jq -r 'map(.job_id) | sort | join(",")' <<<"$ps_out" 2>/dev/null)" = "across,before"
sleep "$FULL_SLEEP"; sleep 1
# The job that ended while the disk was full: its shim could not write exit.json. The truthful
# answers are the real exit code (if a record got written) or lost/outcome_lost with no code;
# an invented code is not.
across=$("$BIN/ffrtmp" ps --json --state-dir "$FD" | jq -c '.[] | select(.job_id == "across") | {state, exit_code, platform_sla, platform_sla_reason}')
check "a job that ended while the disk was full is reported truthfully: $across" \
  jqtest '(.state == "exited" and .exit_code == 0) or (.state == "lost" and .exit_code == null and .platform_sla == false and .platform_sla_reason == "outcome_lost")' <<<"$across"
rm -f "$TINY/fill"
after_sum=$(sha256sum "$FD/jobs/before/exit.json" "$FD/jobs/before/spec.json" | sha256sum)
check "the earlier job's journal is byte-for-byte intact" test "$before_sum" = "$after_sum"
check "  ... and still reads as exited with code 7" test "$("$BIN/ffrtmp" ps --json --state-dir "$FD" | jq -r '.[] | select(.job_id == "before") | "\(.state) \(.exit_code)"')" = "exited 7"
fdrun --job-id after -- "$BIN/ffrtmp-testload" exit 0 >/dev/null 2>&1
check "with space again, a new job runs (exit 0)" test $? = 0
left=$(cgroup_pids "$PARENT" | wc -l)
check "no process left in the job cgroups ($left)" test "$left" = 0
umount "$TINY"

# ---- 4. torn journal files ----------------------------------------------------------------
note "4. torn journal files"
TJ=$work/torn
tjrun() { "$BIN/ffrtmp" run --state-dir "$TJ" "$@" >/dev/null 2>&1; }
tjrun --job-id good -- "$BIN/ffrtmp-testload" exit 0
for c in truncated garbage empty spec; do tjrun --job-id "$c" -- "$BIN/ffrtmp-testload" exit 3; done
running=$("$BIN/ffrtmp" run --state-dir "$TJ" --detach --job-id live -- "$BIN/ffrtmp-testload" sleep 60)
j=$TJ/jobs
head -c $(($(stat -c %s "$j/truncated/exit.json") / 2)) "$j/truncated/exit.json" > "$j/truncated/x" && mv "$j/truncated/x" "$j/truncated/exit.json"
head -c 300 /dev/urandom > "$j/garbage/exit.json"
: > "$j/empty/exit.json"
head -c 50 "$j/spec/spec.json" > "$j/spec/x" && mv "$j/spec/x" "$j/spec/spec.json"
sums=$(cat "$j"/*/exit.json "$j"/*/spec.json | sha256sum)
ps_json=$("$BIN/ffrtmp" ps --json --state-dir "$TJ" 2>"$work/ps.err")
rc=$?
ps_ok() { [ "$rc" = 0 ] && jqtest 'type == "array"' <<<"$ps_json"; }
check "ffrtmp ps --json exits 0 and prints valid JSON with torn files present (exit $rc)" ps_ok
check "  ... every job listed, none skipped" test "$(jq -r 'map(.job_id) | sort | join(",")' <<<"$ps_json")" = "empty,garbage,good,live,spec,truncated"
for c in truncated garbage empty; do
  got=$(jq -c --arg c "$c" '.[] | select(.job_id == $c) | {journal_error, exit_code, platform_sla}' <<<"$ps_json")
  check "$c exit.json: reported corrupt with the file named, no exit code invented" \
    jqtest --arg p "$j/$c/exit.json" '(.journal_error // "" | contains("corrupt") and contains($p)) and .exit_code == null and .platform_sla != true' <<<"$got"
done
got=$(jq -c '.[] | select(.job_id == "spec")' <<<"$ps_json")
check "torn spec.json: the job is listed as unreadable with the file named" \
  jqtest --arg p "$j/spec/spec.json" '(.journal_error // "" | contains($p)) and .exit_code == null' <<<"$got"
check "the intact jobs are unaffected (good: exited 0, live: running)" test \
  "$(jq -r '[.[] | select(.job_id == "good" or .job_id == "live") | "\(.job_id)=\(.state)/\(.exit_code)"] | sort | join(" ")' <<<"$ps_json")" = "good=exited/0 live=running/null"
"$BIN/ffrtmp" ps --state-dir "$TJ" >"$work/ps.table" 2>&1
check "the table view (ffrtmp ps) also lists all six jobs (exit $?)" test "$(tail -n +2 "$work/ps.table" | wc -l)" = 6
check "ps never rewrites the torn files (left as evidence)" test "$(cat "$j"/*/exit.json "$j"/*/spec.json | sha256sum)" = "$sums"
"$BIN/ffrtmp" kill --state-dir "$TJ" --grace 1 "$running" >/dev/null 2>&1
check "the live job can still be killed next to the torn ones" test "$("$BIN/ffrtmp" ps --json --state-dir "$TJ" | jq -r '.[] | select(.job_id == "live") | .state')" = killed

# ---- 5. fleet dispatch under faults -------------------------------------------------------
. "$repo/scripts/chaos/fleet.sh"

# ---- summary ------------------------------------------------------------------------------
note "took $((SECONDS - suite_start)) s"
say "$passed passed, $failed failed"
mkdir -p "$repo/docs/chaos"
printf '%s\n' "${lines[@]}" > "$repo/docs/chaos/last-run.txt"
cp "$repo/docs/chaos/last-run.txt" "$repo/docs/chaos/last-run-$mode.txt"
if [ "$failed" != 0 ]; then
  echo "--- agent log (last 40 lines) ---" >&2; tail -40 "$work/agent.log" >&2
  echo "--- master log (last 20 lines) ---" >&2; tail -20 "$work/master.log" >&2
  exit 1
fi
exit 0
