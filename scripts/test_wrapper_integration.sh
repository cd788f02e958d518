#!/usr/bin/env bash
# Behavioural tests of the wrapper path, end to end, against the real binaries: ffrtmp-master
# (SQLite in a temp dir), `ffrtmp agent` (a worker.env written here), real ffmpeg transcodes
# and real cgroupfs (v1). Every check reads what the kernel, the processes or the master say:
# /proc/PID/cgroup, cgroup limit and stat files, the master's API. Nothing greps source code.
#
#   FFRTMP_BIN_DIR=/path/to/bin scripts/test_wrapper_integration.sh
#
# Prints "ok N - name" / "not ok N - name: reason" per test, then "N passed, N failed";
# exits non-zero on any failure. Needs root (cgroupfs); without root it skips and exits 0.
# Uses the first free port of 127.0.0.1:18100-18109 (FFRTMP_INTEG_PORT moves the range), a private
# state dir and a private cgroup parent, and removes every process, cgroup and file it created on
# exit (or on SIGINT/SIGTERM). About 30 s.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
BIN=${FFRTMP_BIN_DIR:-$repo/.build/debug}
FFMPEG=${FFMPEG:-/usr/bin/ffmpeg}
# The master listens on the first free port from here (ten tries).
PORT=${FFRTMP_INTEG_PORT:-18100}
M=""

if [ "$(id -u)" != 0 ]; then
  echo "# skipped: needs root for real cgroupfs (run as root)"
  echo "0 passed, 0 failed (skipped: not root)"
  exit 0
fi

# The agent's settings come from the worker.env written below, not from the caller's environment
# (the environment would override the file).
# shellcheck source=scripts/lib/checks.sh
. "$repo/scripts/lib/checks.sh"
clear_agent_env

T=$(mktemp -d /tmp/ffrtmp-integ-XXXXXX)
mkdir -p "$T/media"; chown nobody: "$T/media"  # MEDIA_ROOTS of the agent, owned by its JOB_USER
PARENT=/ffrtmp-integ-$$
STATE=$T/state
MASTER_PID="" AGENT_PID="" ATTACH_FFMPEG_PID=""

# ---------------------------------------------------------------- helpers

# v1 mount point of a controller, from mountinfo (cpu and cpuacct may be one mount or two).
cg_mount() {
  awk -v c="$1" '{ for (i = 1; i <= NF; i++) if ($i == "-") break
                  if ($(i+1) != "cgroup") next
                  n = split($(i+3), o, ","); for (k = 1; k <= n; k++) if (o[k] == c) { print $5; exit } }' /proc/self/mountinfo
}
# Every directory of our private parent: each v1 hierarchy and the v2 mount.
parent_dirs() {
  awk '{ for (i = 1; i <= NF; i++) if ($i == "-") break; if ($(i+1) == "cgroup" || $(i+1) == "cgroup2") print $5 }' /proc/self/mountinfo |
    sort -u | while read -r mnt; do [ -d "$mnt$PARENT" ] && echo "$mnt$PARENT"; done
  return 0
}


# The cgroup path of PID in the hierarchy that holds controller $2 (from /proc/PID/cgroup).
proc_cgroup() { awk -F: -v c="$2" '{ n = split($2, o, ","); for (k = 1; k <= n; k++) if (o[k] == c) print $3 }' "/proc/$1/cgroup" 2>/dev/null; }

# "PID STARTTIME PGID" written by the shim (or the legacy spawner) in the journal.
workload_pid() { local f=$STATE/jobs/$1/workload.pid; [ -s "$f" ] && cut -d' ' -f1 "$f"; }
workload_start() { cut -d' ' -f2 "$STATE/jobs/$1/workload.pid"; }

# wait_for SECONDS COMMAND...: polls every 0.1 s.
wait_for() {
  local deadline=$(( $(date +%s%N) + $1 * 1000000000 )); shift
  until "$@"; do [ "$(date +%s%N)" -lt "$deadline" ] || return 1; sleep 0.1; done
}

# The master's API; the key travels in a header file, never in argv.
api() {
  local args=(-sS --max-time 10 -H @"$T/auth.hdr" -X "$1")
  [ -z "${3:-}" ] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
  curl "${args[@]}" "${@:4}" "$M$2"
}
job() { api GET "/api/jobs/$1"; }
job_field() { job "$1" | jq -r "$2"; }
job_status_is() { [ "$(job_field "$1" .status 2>/dev/null)" = "$2" ]; }
submit() {
  local out; out=$(api POST /api/jobs "$1") || return 1
  [ "$(jq -r .status <<<"$out")" = queued ] || { echo "submit refused: $out" >&2; return 1; }
}
# A small realtime transcode (160x120, 10 fps): cheap, and it runs for about SECONDS.
tiny_job() { # ID SECONDS EXTRA_TOP_LEVEL_JSON [EXTRA_PARAMETERS_JSON]
  printf '{"id":"%s","engine":"ffmpeg","parameters":{"input":"testsrc","resolution":"160x120","fps":10,"duration_seconds":%s,"realtime":true%s}%s}' \
    "$1" "$2" "${4:+,$4}" "${3:+,$3}"
}

# How many progress reports ffmpeg has written to FILE (0 before it creates it).
progress_reports() { local n; n=$(grep -c '^progress=' "$1" 2>/dev/null) || true; echo "${n:-0}"; }
has_progress() { [ "$(progress_reports "$1")" -gt 0 ]; }

running_workload() { local p; p=$(workload_pid "$1") && alive "$p" && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = ffmpeg ]; }

write_worker_env() { # WRAPPER_ENABLED
  cat > "$T/worker.env" <<EOF
MASTER_URL=$M
FFRTMP_API_KEY_FILE=$T/node.key
NODE_ID=integ-$$
MAX_JOBS=8
POLL_INTERVAL=0.2
HEARTBEAT_INTERVAL=0.5
WRAPPER_ENABLED=$1
FFMPEG_PATH=$FFMPEG
FFRTMP_STATE_DIR=$STATE
FFRTMP_CGROUP_PARENT=$PARENT
JOB_USER=nobody
MEDIA_ROOTS=$T/media
EOF
}
agent_seq=0
start_agent() {
  agent_seq=$((agent_seq + 1))
  : > "$T/agent-$agent_seq.log"
  "$BIN/ffrtmp" agent --config "$T/worker.env" >> "$T/agent-$agent_seq.log" 2>&1 &
  AGENT_PID=$!
  wait_for 15 agent_registered
}
# The agent's own word, over its control socket (a stale socket of a killed agent refuses).
agent_registered() { "$BIN/ffrtmp" ctl --state-dir "$STATE" '{"op":"status"}' 2>/dev/null | jq -e '.registered == true' >/dev/null; }
stop_agent() { # SIGNAL
  [ -n "$AGENT_PID" ] || return 0
  kill "-$1" "$AGENT_PID" 2>/dev/null || true
  wait "$AGENT_PID" 2>/dev/null || true
  AGENT_PID=""
}


cleanup() {
  local rc=$? d j p
  set +e
  if [ "$fail" != 0 ] && [ -d "$T" ]; then
    for l in "$T"/agent-*.log "$T/master.log"; do [ -f "$l" ] && { echo "# --- tail of $(basename "$l")"; tail -n 15 "$l" | sed 's/^/# /'; } >&2; done
  fi
  stop_agent KILL
  [ -n "$MASTER_PID" ] && { kill "$MASTER_PID" 2>/dev/null; wait "$MASTER_PID" 2>/dev/null; }
  [ -n "$ATTACH_FFMPEG_PID" ] && { kill -KILL "$ATTACH_FFMPEG_PID" 2>/dev/null; wait "$ATTACH_FFMPEG_PID" 2>/dev/null; }
  # Workloads the journal knows (the legacy ones are in no cgroup), only if the pid is still theirs.
  for d in "$STATE"/jobs/*/; do
    j=$(basename "$d")
    for file in workload.pid shim.pid; do
      [ -s "$d/$file" ] || continue
      p=$(cut -d' ' -f1 "$d/$file")
      [ "$(stat_field "$p" 22 2>/dev/null)" = "$(cut -d' ' -f2 "$d/$file")" ] && kill -KILL "$p" 2>/dev/null
    done
  done
  # Anything left in a job cgroup under our private parent: thaw, kill by pid, wait, rmdir.
  for d in $(parent_dirs); do
    for j in "$d"/*/; do
      [ -f "$j/cgroup.procs" ] || continue
      [ -f "$j/freezer.state" ] && echo THAWED > "$j/freezer.state" 2>/dev/null
      for p in $(cat "$j/cgroup.procs"); do kill -KILL "$p" 2>/dev/null; done
    done
  done
  for d in $(parent_dirs); do
    for j in "$d"/*/; do
      [ -f "$j/cgroup.procs" ] || continue
      for _ in $(seq 50); do [ -s "$j/cgroup.procs" ] || break; sleep 0.1; done
      rmdir "$j" 2>/dev/null || echo "# could not remove cgroup $j" >&2
    done
    rmdir "$d" 2>/dev/null || echo "# could not remove cgroup $d" >&2
  done
  rm -rf "$T"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "Bail out! interrupted"; fail=$((fail + 1)); echo "$pass passed, $fail failed"; exit 130' INT TERM

bail() { echo "Bail out! $*"; fail=$((fail + 1)); echo "$pass passed, $fail failed"; exit 1; }

# ---------------------------------------------------------------- set-up

for b in ffrtmp ffrtmp-master; do [ -x "$BIN/$b" ] || bail "$BIN/$b not found (build first, or set FFRTMP_BIN_DIR)"; done
[ -x "$FFMPEG" ] || bail "$FFMPEG not found (scripts/install-deps.sh test installs it)"
for c in curl jq; do command -v $c >/dev/null || bail "$c not found"; done
CPU_MNT=$(cg_mount cpu) CPUACCT_MNT=$(cg_mount cpuacct) MEM_MNT=$(cg_mount memory)
[ -n "$CPU_MNT" ] && [ -n "$CPUACCT_MNT" ] && [ -n "$MEM_MNT" ] || bail "needs cgroup v1 cpu, cpuacct and memory hierarchies (this host has none)"

(umask 077
 head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/api.key"
 printf 'Authorization: Bearer %s\n' "$(cat "$T/api.key")" > "$T/auth.hdr")

# The agent's own key, bound to its node id (the admin key may not call the node routes).
(umask 077; "$BIN/ffrtmp-master" nodes add "integ-$$" --db "sqlite:$T/master.db" > "$T/node.key" 2>"$T/nodes-add.log") \
  || bail "ffrtmp-master nodes add failed: $(cat "$T/nodes-add.log")"

# Ours answers 200 with our key (another master on the port would say 401); a taken port ends ours.
master_up() { ! alive "$MASTER_PID" || [ "$(api GET /api/jobs '' -o /dev/null -w '%{http_code}' 2>/dev/null)" = 200 ]; }
for port in $(seq "$PORT" $((PORT + 9))); do
  M=http://127.0.0.1:$port
  "$BIN/ffrtmp-master" --listen "127.0.0.1:$port" --db "sqlite:$T/master.db" --api-key-file "$T/api.key" > "$T/master.log" 2>&1 &
  MASTER_PID=$!
  wait_for 20 master_up || bail "ffrtmp-master did not answer on $M"
  alive "$MASTER_PID" && break
  wait "$MASTER_PID" 2>/dev/null || true
  MASTER_PID=""
done
[ -n "$MASTER_PID" ] || bail "no free port in $PORT-$((PORT + 9)) for the master (see its log: $(tail -n 1 "$T/master.log"))"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$M/api/jobs")" = 401 ] || bail "the master answers without the key"

write_worker_env false
start_agent || bail "the agent did not register with the master (WRAPPER_ENABLED=false)"
AGENT_A=$AGENT_PID

# Jobs for tests 1, 2 and 5, running side by side.
submit "$(tiny_job w-true 4 '"wrapper_enabled":true')" || bail "cannot submit jobs"
submit "$(tiny_job w-unsaid 4)" || bail "cannot submit jobs"

# ---------------------------------------------------------------- 1, 2: routing, node default off

# Checks that PID runs in job cgroup PARENT/JOB in the cpu and memory hierarchies, and is listed
# in that cgroup's cgroup.procs.
in_job_cgroup() { # PID JOB
  local c
  for c in cpu memory pids freezer; do
    [ "$(proc_cgroup "$1" $c)" = "$PARENT/$2" ] || { f "pid $1 is in $c:$(proc_cgroup "$1" $c), not $PARENT/$2"; return; }
  done
  grep -qx "$1" "$CPU_MNT$PARENT/$2/cgroup.procs" || { f "pid $1 not in $CPU_MNT$PARENT/$2/cgroup.procs"; return; }
  grep -qx "$1" "$MEM_MNT$PARENT/$2/cgroup.procs" || { f "pid $1 not in $MEM_MNT$PARENT/$2/cgroup.procs"; return; }
}
# The legacy path: a direct child of the agent, in none of our cgroups.
is_legacy_child() { # PID JOB AGENT_PID
  [ "$(stat_field "$1" 4)" = "$3" ] || { f "ffmpeg pid $1 has parent $(stat_field "$1" 4), not the agent ($3)"; return; }
  if grep -q "$PARENT" "/proc/$1/cgroup"; then f "legacy ffmpeg pid $1 is in a job cgroup: $(grep "$PARENT" "/proc/$1/cgroup" | head -1)"; return; fi
  local d; for d in $(parent_dirs); do [ ! -e "$d/$2" ] || { f "a cgroup $d/$2 exists for a legacy job"; return; }; done
}

test1() {
  wait_for 20 running_workload w-true.a1 || { f "no running ffmpeg for w-true within 20 s"; return; }
  local p; p=$(workload_pid w-true.a1)
  in_job_cgroup "$p" w-true.a1 || return
  [ "$(stat_field "$p" 4)" != "$AGENT_A" ] || { f "the wrapped ffmpeg is a direct child of the agent"; return; }
}
t 1 "wrapper_enabled:true runs ffmpeg in its own job cgroup under the private parent" test1

test2() {
  wait_for 20 running_workload w-unsaid.a1 || { f "no running ffmpeg for w-unsaid within 20 s"; return; }
  is_legacy_child "$(workload_pid w-unsaid.a1)" w-unsaid.a1 "$AGENT_A"
}
t 2 "a job without wrapper_enabled takes the legacy path (WRAPPER_ENABLED=false)" test2

# Both end before the agent is restarted: a legacy child cannot outlive its agent's watch.
wait_for 30 job_status_is w-true completed || true
wait_for 30 job_status_is w-unsaid completed || true

# ---------------------------------------------------------------- 3, 4: node default on

stop_agent TERM
write_worker_env true
start_agent || bail "the agent did not register with the master (WRAPPER_ENABLED=true)"
AGENT_B=$AGENT_PID
submit "$(tiny_job n-false 4 '"wrapper_enabled":false')" || bail "cannot submit jobs"
submit "$(tiny_job n-unsaid 4)" || bail "cannot submit jobs"
# Test 6's spinner: not realtime, so it wants all the CPU it can get; 20% allowed.
submit '{"id":"cpu-cap","engine":"ffmpeg","wrapper_enabled":true,"wrapper_constraints":{"cpu_max":"20000 100000"},
         "parameters":{"input":"testsrc","resolution":"320x240","duration_seconds":600}}' || bail "cannot submit jobs"
# Test 7: x264 at 1280x720 needs about 260 MB; 32 MB allowed.
submit '{"id":"oom","engine":"ffmpeg","wrapper_enabled":true,"wrapper_constraints":{"memory_max_mb":32},
         "parameters":{"input":"testsrc","resolution":"1280x720","duration_seconds":5}}' || bail "cannot submit jobs"

test3() {
  wait_for 20 running_workload n-false.a1 || { f "no running ffmpeg for n-false within 20 s"; return; }
  is_legacy_child "$(workload_pid n-false.a1)" n-false.a1 "$AGENT_B"
}
t 3 "wrapper_enabled:false takes the legacy path even with WRAPPER_ENABLED=true" test3

test4() {
  wait_for 20 running_workload n-unsaid.a1 || { f "no running ffmpeg for n-unsaid within 20 s"; return; }
  in_job_cgroup "$(workload_pid n-unsaid.a1)" n-unsaid.a1 || return
  # "Not said" stays not said at the master: the node's default did the routing.
  [ "$(job_field n-unsaid '.wrapper_enabled')" = null ] || { f "the master now says wrapper_enabled=$(job_field n-unsaid .wrapper_enabled)"; return; }
}
t 4 "WRAPPER_ENABLED=true wraps a job that does not say" test4

# ---------------------------------------------------------------- 5: SLA at the master

test5() {
  local j
  j=$(job w-true) || { f "GET /api/jobs/w-true failed"; return; }
  local want='.status == "completed" and .platform_sla == true and .platform_sla_reason == "success"
    and .result.platform_sla == true and .result.metrics.platform_sla == true
    and .result.analyzer_output.platform_sla == true and .result.analyzer_output.wrapper == true
    and .result.metrics.wrapper_enabled == true and .result.metrics.exit_code == 0
    and .result.metrics.governance == "full" and (.result.metrics.exec_duration > 3)
    and (.result.metrics.cpu_seconds > 0) and (.result.metrics.peak_memory_bytes > 1000000)
    and .result.result.cgroup == $cg'
  jq -e --arg cg "$PARENT/w-true.a1" "$want" <<<"$j" >/dev/null ||
    { f "w-true at the master: $(jq -c '{status,platform_sla,platform_sla_reason,metrics:.result.metrics,analyzer:.result.analyzer_output}' <<<"$j")"; return; }
  j=$(job w-unsaid) || { f "GET /api/jobs/w-unsaid failed"; return; }
  jq -e '.status == "completed" and .platform_sla == true and .platform_sla_reason == "success"
         and .result.metrics.wrapper_enabled == false and .result.analyzer_output.wrapper == false
         and .result.metrics.governance == "none" and .result.metrics.exit_code == 0' <<<"$j" >/dev/null ||
    { f "w-unsaid (legacy) at the master: $(jq -c '{status,platform_sla,platform_sla_reason,metrics:.result.metrics}' <<<"$j")"; return; }
}
t 5 "platform SLA fields of wrapped and legacy results are at the master" test5

# ---------------------------------------------------------------- 6: CPU limit

cpu_rate_x1000=0
test6() {
  wait_for 20 running_workload cpu-cap.a1 || { f "no running ffmpeg for cpu-cap within 20 s"; return; }
  local cpu=$CPU_MNT$PARENT/cpu-cap.a1 acct=$CPUACCT_MNT$PARENT/cpu-cap.a1
  [ "$(cat "$cpu/cpu.cfs_quota_us")" = 20000 ] && [ "$(cat "$cpu/cpu.cfs_period_us")" = 100000 ] ||
    { f "quota/period are $(cat "$cpu/cpu.cfs_quota_us")/$(cat "$cpu/cpu.cfs_period_us"), not 20000/100000"; return; }
  sleep 1  # past ffmpeg's start-up
  local u1 t1 p1 th1 u2 t2 p2 th2
  u1=$(cat "$acct/cpuacct.usage") t1=$(date +%s%N)
  p1=$(awk '$1 == "nr_periods" { print $2 }' "$cpu/cpu.stat") th1=$(awk '$1 == "nr_throttled" { print $2 }' "$cpu/cpu.stat")
  sleep 3
  u2=$(cat "$acct/cpuacct.usage") t2=$(date +%s%N)
  p2=$(awk '$1 == "nr_periods" { print $2 }' "$cpu/cpu.stat") th2=$(awk '$1 == "nr_throttled" { print $2 }' "$cpu/cpu.stat")
  running_workload cpu-cap.a1 || { f "the spinner ended during the measurement"; return; }
  cpu_rate_x1000=$(( (u2 - u1) * 1000 / (t2 - t1) ))
  local periods=$((p2 - p1)) throttled=$((th2 - th1))
  # At most the quota (plus scheduler slack), at least a real fraction of it (it did spin), and
  # throttled in most periods: it wanted more than it was given.
  [ "$cpu_rate_x1000" -le 260 ] || { f "used $cpu_rate_x1000/1000 of a CPU, over the 200/1000 limit"; return; }
  [ "$cpu_rate_x1000" -ge 50 ] || { f "used only $cpu_rate_x1000/1000 of a CPU: not a spinning workload"; return; }
  [ "$periods" -gt 0 ] && [ $((throttled * 2)) -ge "$periods" ] || { f "throttled in $throttled of $periods periods"; return; }
}
t 6 "cpu_max 20000/100000 is enforced on a spinning ffmpeg (cpuacct rate, cpu.stat throttling)" test6
echo "# cpu-cap used $cpu_rate_x1000/1000 of one CPU under a 200/1000 quota"
api POST /api/jobs/cpu-cap/cancel > /dev/null || true

# ---------------------------------------------------------------- 7: memory limit

test7() {
  wait_for 30 job_status_is oom failed || { f "oom is $(job_field oom .status), not failed, after 30 s"; return; }
  local j; j=$(job oom)
  jq -e '.result.metrics.oom_killed == true and .result.result.oom_killed == true and .result.result.signal == "SIGKILL"
         and .result.metrics.exit_code == null and .platform_sla == true and .platform_sla_reason == "oom_own_limit"
         and .result.result.constraints_applied.memory_max_mb == 32 and .result.metrics.peak_memory_bytes <= 33554432' <<<"$j" >/dev/null ||
    { f "oom at the master: $(jq -c '{status,platform_sla_reason,metrics:.result.metrics,signal:.result.result.signal}' <<<"$j")"; return; }
}
t 7 "memory_max_mb 32 is enforced: ffmpeg is OOM-killed and oom_killed is true at the master" test7

wait_for 20 job_status_is cpu-cap canceled || true
wait_for 20 job_status_is n-false completed || true
wait_for 20 job_status_is n-unsaid completed || true

# ---------------------------------------------------------------- 8, 9: kill -9 of the agent

submit "$(tiny_job survivor 90 '"wrapper_enabled":true')" || bail "cannot submit jobs"
submit "$(tiny_job recover 30 '"wrapper_enabled":true')" || bail "cannot submit jobs"
SURV_PID="" SURV_START=""
test8() {
  wait_for 20 running_workload survivor.a1 || { f "no running ffmpeg for survivor within 20 s"; return; }
  wait_for 20 running_workload recover.a1 || { f "no running ffmpeg for recover within 20 s"; return; }
  SURV_PID=$(workload_pid survivor.a1) SURV_START=$(stat_field "$SURV_PID" 22)
  wait_for 10 has_progress "$STATE/jobs/survivor.a1/progress" || { f "survivor's ffmpeg wrote no progress within 10 s"; return; }
  local frames1; frames1=$(progress_reports "$STATE/jobs/survivor.a1/progress")
  stop_agent KILL
  sleep 1.5
  alive "$SURV_PID" || { f "ffmpeg pid $SURV_PID died with the agent"; return; }
  [ "$(stat_field "$SURV_PID" 22)" = "$SURV_START" ] || { f "pid $SURV_PID is another process now"; return; }
  in_job_cgroup "$SURV_PID" survivor.a1 || return
  [ "$(progress_reports "$STATE/jobs/survivor.a1/progress")" -gt "$frames1" ] || { f "ffmpeg stopped making progress without the agent"; return; }
}
t 8 "a wrapped ffmpeg survives kill -9 of the agent (same pid, same cgroup, still working)" test8

test9() {
  [ -z "$AGENT_PID" ] || { f "the agent is still running (test 8 did not kill it)"; return; }
  local p; p=$(workload_pid recover.a1)
  alive "$p" || { f "recover's ffmpeg is not running"; return; }
  # It ends while no agent runs: ffmpeg exits 255 on SIGTERM, a code only the shim's record holds.
  [ "$(stat_field "$p" 22)" = "$(workload_start recover.a1)" ] && kill -TERM "$p"
  wait_for 10 test -s "$STATE/jobs/recover.a1/exit.json" || { f "no exit record for recover within 10 s"; return; }
  # Not reported yet: assigned, or running once a heartbeat has named it.
  case $(job_field recover .status) in assigned | running) ;; *) f "the master has recover as $(job_field recover .status) while the agent is down"; return ;; esac
  start_agent || { f "the restarted agent did not register"; return; }
  wait_for 30 job_status_is recover failed || { f "recover is $(job_field recover .status) 30 s after the restart"; return; }
  local j; j=$(job recover)
  jq -e '.attempt == 1 and .result.metrics.exit_code == 255 and .result.result.exit_code == 255 and .result.result.signal == null
         and .failure_reason == "workload_error" and .platform_sla == true and .platform_sla_reason == "workload_exit_nonzero"' <<<"$j" >/dev/null ||
    { f "recover at the master: $(jq -c '{attempt,status,failure_reason,platform_sla_reason,metrics:.result.metrics}' <<<"$j")"; return; }
  # Exactly once: the master never received it twice, and one delivered outbox file, nothing pending.
  sleep 1.5
  curl -s "$M/metrics" | grep -qx 'ffrtmp_master_results_duplicate_total 0' ||
    { f "the master counted duplicate results: $(curl -s "$M/metrics" | grep duplicate_total | tail -1)"; return; }
  local delivered; delivered=$(find "$STATE/outbox" -name 'recover.*' | sed "s#$STATE/outbox/##" | sort | tr '\n' ' ')
  [ "$delivered" = "delivered/recover.1.json " ] || { f "outbox holds: $delivered"; return; }
}
t 9 "an exit code (255) from while the agent was down is reported once by the restarted agent" test9
[ -n "$AGENT_PID" ] || start_agent || bail "the agent did not register after the restart"


# ---------------------------------------------------------------- 10: attach

test10() {
  # An ffmpeg nobody governs, in its own session and process group, writing MPEG-TS (no
  # buffering to the end, unlike MP4) and progress as it goes.
  setsid "$FFMPEG" -nostdin -hide_banner -loglevel warning -progress "file:$T/attach.progress" -nostats -re \
    -f lavfi -i testsrc=size=160x120:rate=10 -t 60 -c:v libx264 -preset veryfast -flush_packets 1 -f mpegts -y "$T/attach.ts" \
    > "$T/attach.log" 2>&1 &
  ATTACH_FFMPEG_PID=$!
  local p=$ATTACH_FFMPEG_PID
  wait_for 10 test -s "$T/attach.ts" && wait_for 10 has_progress "$T/attach.progress" || { f "the ffmpeg to adopt produced no output"; return; }
  [ "$(cat "/proc/$p/comm")" = ffmpeg ] && [ "$(stat_field "$p" 5)" = "$p" ] || { f "pid $p is not an ffmpeg group leader"; return; }
  if grep -q "$PARENT" "/proc/$p/cgroup"; then f "pid $p is in a job cgroup before the attach"; return; fi
  local start; start=$(stat_field "$p" 22)
  local out; out=$("$BIN/ffrtmp" ctl --state-dir "$STATE" "{\"op\":\"attach\",\"pgid\":$p}") || { f "ctl attach failed: $out"; return; }
  local id; id=$(jq -r .job <<<"$out")
  [ -n "$id" ] && [ "$id" != null ] || { f "no job id in: $out"; return; }
  local size1 frames1; size1=$(stat -c %s "$T/attach.ts") frames1=$(progress_reports "$T/attach.progress")
  alive "$p" && [ "$(stat_field "$p" 22)" = "$start" ] || { f "ffmpeg pid $p did not keep running through the attach"; return; }
  in_job_cgroup "$p" "$id" || return
  sleep 2.5
  alive "$p" && [ "$(stat_field "$p" 22)" = "$start" ] || { f "ffmpeg pid $p died after the attach"; return; }
  local size2 frames2; size2=$(stat -c %s "$T/attach.ts") frames2=$(progress_reports "$T/attach.progress")
  [ "$size2" -gt "$size1" ] && [ "$frames2" -gt "$frames1" ] ||
    { f "output stalled after the attach: $size1 -> $size2 bytes, $frames1 -> $frames2 progress reports"; return; }
  kill -TERM "$p"; wait "$p" 2>/dev/null; ATTACH_FFMPEG_PID=""
  # The agent notices the end: an exit record, and its cgroup is gone.
  wait_for 10 test -s "$STATE/jobs/$id/exit.json" || { f "no exit record for the adopted job $id"; return; }
  wait_for 10 test ! -e "$CPU_MNT$PARENT/$id" || { f "the adopted job's cgroup is still there after it ended"; return; }
}
t 10 "ctl attach adopts a running ffmpeg: same pid, output keeps growing, now in a job cgroup" test10

# ---------------------------------------------------------------- 11: legacy resource_limits

# An old job (no wrapper_enabled, only parameters.resource_limits) on a node with WRAPPER_ENABLED=true.
submit "$(tiny_job legacy-limits 4 '' '"resource_limits":{"max_cpu_percent":35,"max_memory_mb":300}')" || bail "cannot submit jobs"
test11() {
  wait_for 20 running_workload legacy-limits.a1 || { f "no running ffmpeg for legacy-limits within 20 s"; return; }
  local p; p=$(workload_pid legacy-limits.a1)
  in_job_cgroup "$p" legacy-limits.a1 || return
  local cpu=$CPU_MNT$PARENT/legacy-limits.a1 mem=$MEM_MNT$PARENT/legacy-limits.a1
  [ "$(cat "$cpu/cpu.cfs_quota_us") $(cat "$cpu/cpu.cfs_period_us")" = "35000 100000" ] ||
    { f "cpu quota/period are $(cat "$cpu/cpu.cfs_quota_us") $(cat "$cpu/cpu.cfs_period_us"), not 35000 100000"; return; }
  [ "$(cat "$mem/memory.limit_in_bytes")" = $((300 * 1024 * 1024)) ] ||
    { f "memory.limit_in_bytes is $(cat "$mem/memory.limit_in_bytes"), not $((300 * 1024 * 1024))"; return; }
  wait_for 20 job_status_is legacy-limits completed || { f "legacy-limits is $(job_field legacy-limits .status), not completed"; return; }
  jq -e '.result.result.constraints_applied.cpu_max == "35000 100000" and .result.result.constraints_applied.memory_max_mb == 300
         and .result.metrics.governance == "full"' <<<"$(job legacy-limits)" >/dev/null ||
    { f "applied limits at the master: $(job legacy-limits | jq -c .result.result.constraints_applied)"; return; }
}
t 11 "legacy resource_limits (max_cpu_percent 35, max_memory_mb 300) become the job cgroup's limits" test11

# ---------------------------------------------------------------- 12: re-adoption after kill -9

test12() {
  # The agent restarted in test 9 took the survivor of test 8 back under its watch: a master
  # cancel reaches it, ends it cgroup-wide, and the master gets the outcome.
  [ -n "$SURV_PID" ] || { f "no survivor from test 8"; return; }
  alive "$SURV_PID" && [ "$(stat_field "$SURV_PID" 22)" = "$SURV_START" ] || { f "the survivor (pid $SURV_PID) did not survive the restart"; return; }
  [ "$(api POST /api/jobs/survivor/cancel | jq -r .cancel_requested)" = true ] || { f "the master did not take the cancel"; return; }
  wait_for 30 job_status_is survivor canceled || { f "survivor is $(job_field survivor .status), not canceled"; return; }
  wait_for 10 gone "$SURV_PID" || { f "the survivor's ffmpeg still runs after the cancel"; return; }
  jq -e '.attempt == 1 and .platform_sla_reason == "operator_cancel" and .result.metrics.wrapper_enabled == true' <<<"$(job survivor)" >/dev/null ||
    { f "survivor at the master: $(job survivor | jq -c '{attempt,status,platform_sla_reason}')"; return; }
}
t 12 "the restarted agent re-adopts a job that survived kill -9: a master cancel ends it" test12

stop_agent TERM
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
