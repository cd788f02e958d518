#!/usr/bin/env bash
# Auto-attach (AUTO_ATTACH=true), end to end, against the real binaries: ffrtmp-master (SQLite in
# a temp dir), `ffrtmp agent`, real ffmpeg process groups started here outside ffrtmp with setsid,
# and real cgroupfs: v1 on our hosts, v2 inside the VM lane (scripts/v2lane/suite.sh runs this
# script there). Every check reads what the kernel, the processes, the agent's log, the audit log
# or `ffrtmp orphans --json` say.
#
# The groups, each placed by this script in a cgroup of its own making (every hierarchy that
# /proc/PID/cgroup names and the move would change, and systemd's):
#   A  ffmpeg in user.slice/TAG.scope           taken, with WRAPPER_DEFAULT_* limits, frames go on
#   Y  ffmpeg started after the agent           taken, but never before AUTO_ATTACH_MIN_AGE
#   R  ffmpeg whose adoption fails              refused once, never tried again (kept on restart)
#   S  ffmpeg in system.slice/TAG-other.service never moved: outside AUTO_ATTACH_FROM
#   B  bash leading an ffmpeg                   never moved: its leader is not a target
#   N  sleep                                    never moved: not a target command
#   L  the agent's own legacy child (ffmpeg)    never moved: a descendant of the agent
#   Z  ffmpeg while two adoptions are watched   waits under AUTO_ATTACH_MAX_JOBS=2 until one ends
# First in dry run (AUTO_ATTACH_DRY_RUN=true: nothing moves, every candidate is logged with
# its reason), then live after a SIGHUP reload, then across an agent restart.
#
# Prints "ok N - name" / "not ok N - name: reason", "# measure" lines and "N passed, M failed";
# exits non-zero on any failure. Needs root; removes every process, cgroup and file it made.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" != 0 ]; then echo "# skipped: needs root (cgroupfs)"; echo "0 passed, 0 failed (skipped: not root)"; exit 0; fi
# shellcheck source=scripts/lib/harness.sh
. "$repo/scripts/lib/harness.sh"
# shellcheck source=scripts/lib/checks.sh
. "$repo/scripts/lib/checks.sh"
clear_agent_env
export LC_ALL=C
FFMPEG=${FFMPEG:-/usr/bin/ffmpeg}
for b in ffrtmp ffrtmp-master; do [ -x "$BIN/$b" ] || { echo "Bail out! $BIN/$b not found (build first)"; exit 1; }; done
[ -x "$FFMPEG" ] || { echo "Bail out! $FFMPEG not found (scripts/install-deps.sh test)"; exit 1; }

CGV=v1
[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && CGV=v2
MIN_AGE=4 INTERVAL=1
T=$(mktemp -d /tmp/ffrtmp-aa-XXXXXX)
STATE=$T/state PARENT=/ffrtmp-aa-$$ TAG=ffrtmp-aa-$$
HOME_REL=user.slice/$TAG.scope OTHER_REL=system.slice/$TAG-other.service
mkdir -p "$T/media" && chown nobody: "$T/media"
MASTER_PID="" AGENT_PID="" PIDS=() MADE=()

# The hierarchies a process is placed in: v2's one; on v1 every mounted hierarchy except cpuset
# and devices (never moved; a new cpuset needs cpus and mems first), systemd's included.
hierarchies() {
  if [ $CGV = v2 ]; then echo /sys/fs/cgroup; return; fi
  awk '{ for (i = 1; i <= NF; i++) if ($i == "-") break
         if ($(i+1) != "cgroup") next
         if ($(i+3) ~ /(^|,)(cpuset|devices)(,|$)/) next
         print $5 }' /proc/self/mountinfo | sort -u
}
# Makes REL in every hierarchy (remembering what it made, for the clean-up) and moves PID there.
place() { # PID REL
  local h d part
  for h in $(hierarchies); do
    d=$h
    for part in ${2//\// }; do
      d=$d/$part
      [ -d "$d" ] || { mkdir "$d" && MADE+=("$d"); }
    done
    echo "$1" > "$d/cgroup.procs"
  done
}
cgroups_of() { sort "/proc/$1/cgroup" 2>/dev/null; }
start_time() { stat_field "$1" 22; }
# A process group of its own, outside ffrtmp: `setsid` in a script without job control execs in
# place, so $! is the new group's leader. ffmpeg writes its frame counter to PROGRESS.
spawn_ffmpeg() { # PROGRESS SECONDS
  setsid "$FFMPEG" -nostdin -hide_banner -loglevel error -progress "$1" -re -f lavfi -i "testsrc=size=160x120:rate=10" -t "$2" -f null - \
    >/dev/null 2>&1 &
  LAST=$!
  PIDS+=("$LAST")
}
last_frame() { grep '^frame=' "$1" 2>/dev/null | tail -1 | cut -d= -f2; }
job_of() { echo "auto-$1-$(start_time "$1")"; }
log_lines() { grep -c -- "$1" "$T"/agent-*.log 2>/dev/null | awk -F: '{ s += $NF } END { print s + 0 }'; }
orphans_json() { "$BIN/ffrtmp" orphans --json --state-dir "$STATE" --cgroup-parent "$PARENT" 2>>"$T/orphans.err"; }
group_verdict() { orphans_json | jq -c --argjson p "$1" '.groups[] | select(.pgid == $p) | .auto_attach'; }

cleanup() {
  local rc=$? p d i
  set +e
  [ "$fail" != 0 ] && for l in "$T"/agent-*.log; do [ -f "$l" ] && { echo "# --- tail of $(basename "$l")"; tail -n 25 "$l" | sed 's/^/# /'; }; done
  stop_pid "$AGENT_PID"
  stop_pid "$MASTER_PID"
  # Every group this script started (their children die with bash's group: B is one group).
  for p in "${PIDS[@]}"; do kill -KILL -- "-$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  # Jobs of the journal still running (the legacy child), by pid and start time.
  for d in "$STATE"/jobs/*/; do
    [ -s "$d/workload.pid" ] || continue
    read -r p st _ < "$d/workload.pid"
    [ "$(start_time "$p" 2>/dev/null)" = "$st" ] && kill -KILL -- "-$p" 2>/dev/null
  done
  for i in $(seq 50); do
    local left=0
    for h in $(hierarchies); do
      [ -d "$h$PARENT" ] || continue
      find "$h$PARENT" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null
      rmdir "$h$PARENT" 2>/dev/null || left=1
    done
    [ $left = 0 ] && break
    sleep 0.1
  done
  for ((i = ${#MADE[@]} - 1; i >= 0; i--)); do
    for _ in $(seq 50); do rmdir "${MADE[$i]}" 2>/dev/null && break; [ -d "${MADE[$i]}" ] || break; sleep 0.1; done
    [ -d "${MADE[$i]}" ] && echo "# could not remove cgroup ${MADE[$i]}" >&2
  done
  rm -rf "$T"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "Bail out! interrupted"; exit 130' INT TERM
bail() { echo "Bail out! $*"; fail=$((fail + 1)); echo "$pass passed, $fail failed"; exit 1; }

# ---------------------------------------------------------------- master, groups, agent

harness_key "$T"
AUTH_HDR=$T/auth.hdr
port=$(free_port 18140 18179) || bail "no free port"
master_start "$T" "$port" "sqlite:$T/master.db" || bail "the master did not start: $(tail -3 "$T/master.log")"
harness_node_key "$T" aa-node "sqlite:$T/master.db" || bail "no node key"
METRICS=$(free_port 18180 18219) || bail "no free port for /metrics"

write_env() { # DRY_RUN
  cat > "$T/worker.env" <<EOF
MASTER_URL=$MASTER_URL
FFRTMP_API_KEY_FILE=$T/node.key
NODE_ID=aa-node
POLL_INTERVAL=0.2
HEARTBEAT_INTERVAL=0.5
WRAPPER_ENABLED=false
FFMPEG_PATH=$FFMPEG
FFRTMP_STATE_DIR=$STATE
FFRTMP_CGROUP_PARENT=$PARENT
JOB_USER=nobody
MEDIA_ROOTS=$T/media
METRICS_PORT=$METRICS
WRAPPER_DEFAULT_CPU_MAX=30000 100000
WRAPPER_DEFAULT_MEMORY_MAX_MB=200
AUTO_ATTACH=true
AUTO_ATTACH_MIN_AGE=$MIN_AGE
AUTO_ATTACH_INTERVAL=$INTERVAL
AUTO_ATTACH_DRY_RUN=$1
AUTO_ATTACH_MAX_JOBS=2
EOF
  chmod 600 "$T/worker.env"
}
agent_seq=0
start_agent() {
  agent_seq=$((agent_seq + 1))
  "$BIN/ffrtmp" agent --config "$T/worker.env" > "$T/agent-$agent_seq.log" 2>&1 &
  AGENT_PID=$!
  # In the user session like the groups, so that only "a descendant of the agent" keeps its
  # legacy child from being taken.
  place "$AGENT_PID" "$HOME_REL"
  wait_until 20 test -S "$STATE/agent.sock" || bail "the agent did not start: $(tail -3 "$T/agent-$agent_seq.log")"
}

spawn_ffmpeg "$T/a.progress" 300; A=$LAST; place "$A" "$HOME_REL"
spawn_ffmpeg "$T/r.progress" 300; R=$LAST; place "$R" "$HOME_REL"
spawn_ffmpeg "$T/s.progress" 300; S=$LAST; place "$S" "$OTHER_REL"
setsid bash -c "\"$FFMPEG\" -nostdin -loglevel error -re -f lavfi -i testsrc=size=160x120:rate=10 -t 300 -f null - >/dev/null 2>&1; true" &
B=$!; PIDS+=("$B"); place "$B" "$HOME_REL"
setsid sleep 300 & N=$!; PIDS+=("$N"); place "$N" "$HOME_REL"
wait_until 10 sh -c "pgrep -g $B -x ffmpeg >/dev/null" || true
B_FF=$(pgrep -g "$B" -x ffmpeg | head -1 || true)
[ -n "$B_FF" ] && place "$B_FF" "$HOME_REL"
for p in "$A" "$R" "$S" "$B" "$N"; do alive "$p" || bail "group $p did not start"; done
mkdir -p "$STATE"
# R's adoption fails: its job id is taken already (as after a reboot that reused pgid and start).
mkdir -p "$STATE/jobs" && mkdir "$STATE/jobs/$(job_of "$R")"

write_env true
start_agent
api POST /api/jobs '{"id":"legacy-l","engine":"ffmpeg","wrapper_enabled":false,"parameters":{"input":"testsrc","resolution":"160x120","fps":10,"duration_seconds":120,"realtime":true}}' >/dev/null
L=""
legacy_up() { L=$(cut -d' ' -f1 "$STATE/jobs/legacy-l.a1/workload.pid" 2>/dev/null) && [ -n "$L" ] && alive "$L"; }
wait_until 30 legacy_up || bail "the legacy job did not start: $(tail -3 "$T/agent-1.log")"
for p in "$A" "$R" "$S" "$B" "$N" "$L" $B_FF; do cgroups_of "$p" > "$T/before-$p"; done
unmoved() { local p; for p in "$@"; do cmp -s <(cgroups_of "$p") "$T/before-$p" || { f "pid $p moved: $(cgroups_of "$p" | tr '\n' ' ')"; return 1; }; done; }

# ---------------------------------------------------------------- 1-2: dry run

wait_until 30 sh -c "grep -q 'would adopt pgid $A ' '$T/agent-1.log' && grep -q 'would adopt pgid $R ' '$T/agent-1.log' && grep -q 'pgid $L .*descendant of the agent' '$T/agent-1.log'" || true
sleep $((INTERVAL * 3))
t1() {
  unmoved "$A" "$R" "$S" "$B" "$N" "$L" || return 1
  # (Outputs are read whole, then matched: `grep -q` on a pipe under pipefail can SIGPIPE the writer.)
  local jobs; jobs=$(ls "$STATE/jobs")
  [ "$(grep -v -x "$(job_of "$R")" <<<"$jobs" | grep -c '^auto-')" = 0 ] || { f "a job was adopted in dry run: $jobs"; return; }
  local l=$T/agent-1.log
  grep -q "dry run: would adopt pgid $A (ffmpeg" "$l" || { f "no 'would adopt' line for A (pgid $A)"; return; }
  grep -q "dry run: would not adopt pgid $S .*system.slice/$TAG-other.service, which AUTO_ATTACH_FROM" "$l" || { f "no line with S's reason (AUTO_ATTACH_FROM)"; return; }
  grep -q "dry run: would not adopt pgid $B .*leader bash\[$B\] is not one of AUTO_ATTACH_TARGETS" "$l" || { f "no line with B's reason (its leader)"; return; }
  grep -q "dry run: would not adopt pgid $L .*descendant of the agent" "$l" || { f "no line with the legacy child's reason"; return; }
  grep -q "pgid $N " "$l" && { f "sleep (not a target) was considered: $(grep "pgid $N " "$l")"; return; }
  # Each group once per verdict, not once per interval (the scans ran at least 4 times).
  [ "$(log_lines "would not adopt pgid $S ")" = 1 ] || { f "S's refusal logged $(log_lines "would not adopt pgid $S ") times"; return; }
  [ "$(log_lines "pgid $S ")" -le 2 ] || { f "S logged $(log_lines "pgid $S ") times (once waiting, once refused at most)"; return; }
  return 0
}
t 1 "dry run: nothing moves, and every candidate is logged once with why it would or would not be taken" t1

t2() {
  local j; j=$(orphans_json)
  jq -e '.auto_attach.enabled and .auto_attach.dry_run and .auto_attach.agent_running' <<<"$j" >/dev/null || { f "auto_attach: $(jq -c .auto_attach <<<"$j")"; return; }
  [ "$(group_verdict "$A" | jq -r .kind)" = take ] || { f "A: $(group_verdict "$A")"; return; }
  group_verdict "$S" | jq -e '.kind == "refused" and (.reason | test("AUTO_ATTACH_FROM"))' >/dev/null || { f "S: $(group_verdict "$S")"; return; }
  local text; text=$("$BIN/ffrtmp" orphans --state-dir "$STATE" --cgroup-parent "$PARENT" 2>/dev/null)
  grep -q "pgid $A: auto-attach would take" <<<"$text" || { f "text: $text"; return; }
}
t 2 "ffrtmp orphans marks the groups auto-attach would take, and says why it would not take the others" t2

# ---------------------------------------------------------------- 3-8: live, after a reload

frame_before=$(last_frame "$T/a.progress")
a_start=$(start_time "$A")
write_env false
kill -HUP "$AGENT_PID"
y_launch=$(date +%s%N)
spawn_ffmpeg "$T/y.progress" 300; Y=$LAST; place "$Y" "$HOME_REL"
JA=auto-$A-$a_start JY=$(job_of "$Y")
wait_until 30 test -s "$STATE/jobs/$JA/spec.json" || true
wait_until $((MIN_AGE + INTERVAL * 2 + 20)) test -s "$STATE/jobs/$JY/spec.json" || true
sleep $((INTERVAL * 3))

cg_file() { # JOB FILE
  if [ $CGV = v2 ]; then cat "/sys/fs/cgroup$PARENT/$1/$2"; else
    local c=${2%%.*}; [ "$c" = cpu ] && c=cpu
    cat "$(hierarchies | while read -r h; do [ -e "$h$PARENT/$1/$2" ] && echo "$h$PARENT/$1/$2"; done | head -1)"
  fi
}
in_job() { # PID JOB
  local p
  if [ $CGV = v2 ]; then grep -qx "0::$PARENT/$2" "/proc/$1/cgroup"; return; fi
  for p in cpu memory; do grep -Eq "^[0-9]+:([^:]*,)?$p(,[^:]*)?:$PARENT/$2\$" "/proc/$1/cgroup" || return 1; done
}
t3() {
  [ -s "$STATE/jobs/$JA/spec.json" ] || { f "A (pgid $A) was not adopted: $(grep "pgid $A " "$T/agent-1.log" | tail -2)"; return; }
  in_job "$A" "$JA" || { f "A is not in its job cgroup: $(cgroups_of "$A" | tr '\n' ' ')"; return; }
  if [ $CGV = v2 ]; then
    [ "$(cg_file "$JA" cpu.max)" = "30000 100000" ] || { f "cpu.max: $(cg_file "$JA" cpu.max)"; return; }
    [ "$(cg_file "$JA" memory.max)" = $((200 << 20)) ] || { f "memory.max: $(cg_file "$JA" memory.max)"; return; }
  else
    [ "$(cg_file "$JA" cpu.cfs_quota_us)" = 30000 ] || { f "cpu.cfs_quota_us: $(cg_file "$JA" cpu.cfs_quota_us)"; return; }
    [ "$(cg_file "$JA" memory.limit_in_bytes)" = $((200 << 20)) ] || { f "memory.limit_in_bytes: $(cg_file "$JA" memory.limit_in_bytes)"; return; }
  fi
  # The same process (pid and start time), and its frame counter still climbing after the move.
  [ "$(start_time "$A")" = "$a_start" ] || { f "A restarted or is gone"; return; }
  local f1 f2; f1=$(last_frame "$T/a.progress"); sleep 2; f2=$(last_frame "$T/a.progress")
  [ -n "$frame_before" ] && [ "${f1:-0}" -gt "$frame_before" ] && [ "${f2:-0}" -gt "${f1:-0}" ] ||
    { f "frames before the move $frame_before, after ${f1:-none} then ${f2:-none}"; return; }
  echo "# measure: A's frames $frame_before before the reload, $f1 after its adoption, $f2 two seconds later"
}
t 3 "a setsid ffmpeg started outside ffrtmp is adopted with WRAPPER_DEFAULT_* limits (cgroupfs), and its frames keep coming" t3

t4() {
  [ -s "$STATE/jobs/$JY/spec.json" ] || { f "Y (pgid $Y) was not adopted within MIN_AGE + 2 intervals + 20 s: $(grep "pgid $Y " "$T/agent-1.log" | tail -2)"; return; }
  local created ystart boot
  created=$(jq -r .created_at_unix_ns "$STATE/jobs/$JY/spec.json")
  # Y's start as wall-clock time: /proc/uptime and its start time in clock ticks.
  boot=$(awk -v now="$(date +%s%N)" '{ printf "%.0f", now - $1 * 1e9 }' /proc/uptime)
  ystart=$(awk -v b="$boot" -v s="$(start_time "$Y")" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", b + s / hz * 1e9 }')
  local after=$(((created - ystart) / 1000000))
  echo "# measure: Y adopted $after ms after it started (AUTO_ATTACH_MIN_AGE ${MIN_AGE}000 ms, interval ${INTERVAL}000 ms)"
  # Never before its minimum age (50 ms for the two clocks' reading); at most MIN_AGE plus one
  # interval plus the agent's start of scans after the reload (generous: the VM is emulated).
  [ "$after" -ge $((MIN_AGE * 1000 - 50)) ] || { f "adopted $after ms after it started, before AUTO_ATTACH_MIN_AGE"; return; }
  grep -q "not yet pgid $Y .*younger than AUTO_ATTACH_MIN_AGE" "$T/agent-1.log" || { f "no 'not yet' line for Y"; return; }
  in_job "$Y" "$JY" || { f "Y is not in its job cgroup"; return; }
}
t 4 "a group younger than AUTO_ATTACH_MIN_AGE is left alone until it is old enough, then adopted" t4

t5() {
  unmoved "$S" "$B" "$N" "$L" || return 1
  [ -n "$B_FF" ] && { unmoved "$B_FF" || return 1; }
  group_verdict "$S" | jq -e '.kind == "refused" and (.reason | test("AUTO_ATTACH_FROM"))' >/dev/null || { f "S: $(group_verdict "$S")"; return; }
  grep -q "not adopting pgid $L .*descendant of the agent" "$T/agent-1.log" || { f "no refusal line for the legacy child"; return; }
}
t 5 "never moved: a group in system.slice/other.service, one led by bash, a sleep, the agent's own legacy child" t5

t6() {
  local n; n=$(log_lines "pgid $R .*not adopted, and not tried again")
  [ "$n" = 1 ] || { f "R's failed adoption is in the log $n times"; return; }
  unmoved "$R" || return 1
  local audits; audits=$(jq -c --arg t "pgid $R ffmpeg" 'select(.action == "auto_attach" and .target == $t)' "$STATE/audit.log" | wc -l)
  [ "$audits" = 1 ] || { f "$audits audit entries for R"; return; }
  group_verdict "$R" | jq -e '.kind == "refused" and (.reason | test("adoption failed"))' >/dev/null || { f "R in orphans --json: $(group_verdict "$R")"; return; }
}
t 6 "a group whose adoption failed is not tried again, and ffrtmp orphans --json says why" t6

t7() {
  local ps; ps=$("$BIN/ffrtmp" ps --json --state-dir "$STATE" --cgroup-parent "$PARENT" 2>/dev/null)
  jq -e --arg a "$JA" --arg y "$JY" '[.[] | select((.job_id == $a or .job_id == $y) and .mode == "attach")] | length == 2' <<<"$ps" >/dev/null ||
    { f "ps: $(jq -c '[.[] | {job_id, mode, state}]' <<<"$ps")"; return; }
  local m; m=$(curl -s "http://127.0.0.1:$METRICS/metrics" | awk '$1 == "ffrtmp_auto_attached_total" { print $2 }')
  [ "$m" = 2 ] || { f "ffrtmp_auto_attached_total is '$m', not 2"; return; }
  [ "$(jq -c 'select(.action == "auto_attach" and .outcome == "ok")' "$STATE/audit.log" | wc -l)" = 2 ] || { f "audit: $(cat "$STATE/audit.log")"; return; }
}
t 7 "adoptions show in ffrtmp ps, in /metrics (ffrtmp_auto_attached_total) and in the audit log" t7

# Z: a third group while A and Y are watched, under AUTO_ATTACH_MAX_JOBS=2.
spawn_ffmpeg "$T/z.progress" 300; Z=$LAST; place "$Z" "$HOME_REL"
cgroups_of "$Z" > "$T/before-$Z"
sleep $((MIN_AGE + INTERVAL * 3))
t8() {
  unmoved "$Z" || { REASON="over AUTO_ATTACH_MAX_JOBS: $REASON"; return 1; }
  [ "$(log_lines "not yet pgid $Z .*AUTO_ATTACH_MAX_JOBS (2)")" = 1 ] || { f "no single 'AUTO_ATTACH_MAX_JOBS' line for Z: $(grep "pgid $Z " "$T/agent-1.log")"; return; }
  kill -TERM "$A"
  wait "$A" 2>/dev/null
  wait_until 20 test -s "$STATE/jobs/$JA/exit.json" || { f "no exit record after A ended"; return; }
  local r; r=$("$BIN/ffrtmp" ps --json --state-dir "$STATE" --cgroup-parent "$PARENT" 2>/dev/null | jq -c --arg a "$JA" '.[] | select(.job_id == $a)')
  jq -e '.exit_code == null and .platform_sla == true and .platform_sla_reason == "adopted_exit_unknown"' <<<"$r" >/dev/null || { f "A's result: $r"; return; }
  local jobs; jobs=$(api GET /api/jobs)
  grep -q legacy-l <<<"$jobs" || { f "the master's job list: ${jobs:0:200}"; return; }
  grep -q auto- <<<"$jobs" && { f "the master knows an adopted group (adoptions report to no master): ${jobs:0:300}"; return; }
  # A's end frees a place: Z is adopted now.
  wait_until $((INTERVAL * 5 + 10)) test -s "$STATE/jobs/$(job_of "$Z")/spec.json" || { f "Z was not adopted once A ended"; return; }
}
t 8 "AUTO_ATTACH_MAX_JOBS holds a third group back; an adopted group's end is recorded as adopted_exit_unknown, reported to no master, and frees its place" t8

# ---------------------------------------------------------------- 9: restart

t9() {
  stop_pid "$AGENT_PID"
  AGENT_PID=""
  start_agent
  sleep $((INTERVAL * 4))
  local l=$T/agent-$agent_seq.log
  grep -q "pgid $R " "$l" && { f "the restarted agent tried R again: $(grep "pgid $R " "$l")"; return; }
  grep -q "pgid $S " "$l" && { f "the restarted agent logged S again: $(grep "pgid $S " "$l")"; return; }
  unmoved "$R" "$S" || return 1
  in_job "$Y" "$JY" || { f "Y left its job cgroup over the restart"; return; }
}
t 9 "a restarted agent keeps the refusals (by group identity) and the adopted groups" t9

echo "# cgroup $CGV, AUTO_ATTACH_MIN_AGE=$MIN_AGE s, AUTO_ATTACH_INTERVAL=$INTERVAL s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
