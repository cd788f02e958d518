#!/usr/bin/env bash
# Runs inside the v2 VM (scripts/test_v2.sh boots it): the governance core against a real cgroup v2
# kernel, measured from outside through cgroupfs and /proc. Writes "ok N - name" /
# "not ok N - name: reason" lines and a final "N passed, M failed" to $V2_OUT/results.txt;
# everything else goes to $V2_OUT/suite.log. Env: V2_BIN (the built binaries), V2_REPO, V2_OUT.
set -o pipefail
BIN=$V2_BIN
REPO=$V2_REPO
OUT=$V2_OUT
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export FFRTMP_CONSOLE=$BIN/ffrtmp-console
unset FFRTMP_CGROUP_PARENT FFRTMP_CGROUP_DRIVER INVOCATION_ID
RESULTS=$OUT/results.txt
: > "$RESULTS"
exec >"$OUT/suite.log" 2>&1
set -x
CG=/sys/fs/cgroup
repo=$REPO
export FFRTMP_BIN_DIR=$BIN
# shellcheck source=../lib/checks.sh
. "$REPO/scripts/lib/checks.sh"
# shellcheck source=../lib/harness.sh
. "$REPO/scripts/lib/harness.sh"
# shellcheck source=regressions.sh
. "$REPO/scripts/v2lane/regressions.sh"
clear_agent_env
n=0
check() { # NAME FUNCTION
  n=$((n + 1)); REASON=""
  if "$2"; then pass=$((pass + 1)); echo "ok $n - $1" >> "$RESULTS"
  else fail=$((fail + 1)); echo "not ok $n - $1: ${REASON:-failed}" >> "$RESULTS"; fi
}
TL=$BIN/ffrtmp-testload
FF() { "$BIN/ffrtmp" "$@"; }
new_state() { S=$(mktemp -d /tmp/ffrtmp-v2s-XXXXXX); chmod 750 "$S"; export FFRTMP_STATE_DIR=$S; }
job_ps() { FF ps --json --interval "${2:-0}" | jq -c --arg id "$1" '.[] | select(.job_id == $id)'; }
wpid() { cut -d' ' -f1 "$S/jobs/$1/workload.pid" 2>/dev/null; }
spid() { cut -d' ' -f1 "$S/jobs/$1/shim.pid" 2>/dev/null; }
ended() { test -s "$S/jobs/$1/exit.json"; }
usage_usec() { awk '$1 == "usage_usec" {print $2}' "$CG$1/cpu.stat"; }

# ------------------------------------------------------------------ setup
ip link set lo up
SWAP_ON=0
if mkswap /dev/vdb >/dev/null && swapon /dev/vdb; then SWAP_ON=1; fi
IODEV=$(cat /sys/block/vda/dev)
echo "kernel $(uname -r); controllers: $(cat $CG/cgroup.controllers); swap $SWAP_ON; io disk $IODEV" >> "$OUT/env.txt"

check_v2_host() {
  grep -q "cgroup2 $CG cgroup2" /proc/mounts || { f "no cgroup2 at $CG"; return; }
  for c in cpu memory io pids; do grep -qw $c $CG/cgroup.controllers || { f "controller $c not offered"; return; }; done
}
check "a real cgroup v2 host: cgroup2 at /sys/fs/cgroup offering cpu memory io pids" check_v2_host

# ------------------------------------------------------------------ limits
check_cpu_max() {
  new_state
  local out; out=$(FF run --cgroup-parent /v2t-cpu --cpu-max "20000 100000" -- "$TL" spin 4) || { f "run failed: $out"; return; }
  local cpu wall; cpu=$(grep -o 'cpu_ms=[0-9.]*' <<<"$out" | cut -d= -f2); wall=$(grep -o 'wall_ms=[0-9.]*' <<<"$out" | cut -d= -f2)
  local share; share=$(awk -v c="$cpu" -v w="$wall" 'BEGIN {printf "%.3f", c / w}')
  echo "cpu.max 20000/100000: cpu ${cpu} ms over ${wall} ms = $share" >> "$OUT/env.txt"
  awk -v s="$share" 'BEGIN {exit !(s > 0.12 && s < 0.30)}' || f "the workload got $share of a core under a 20% cpu.max"
}
check "cpu.max 20000 100000 holds a busy loop to about 20% of a core (its own CPU time over wall time)" check_cpu_max

check_limit_files() {
  new_state
  FF run --detach --cgroup-parent /v2t-files --job-id lf --cpu-max "30000 100000" --memory-max-mb 64 --pids-max 16 \
    --io-max "$IODEV wbps=1048576" -- "$TL" sleep 4 >/dev/null || { f "run failed"; return; }
  local d=$CG/v2t-files/lf got
  got="$(cat $d/cpu.max)|$(cat $d/memory.max)|$(cat $d/memory.swap.max)|$(cat $d/pids.max)|$(cat $d/io.max)"
  FF kill --cgroup-parent /v2t-files lf --grace 1 >/dev/null
  [ "$got" = "30000 100000|67108864|0|16|$IODEV rbps=max wbps=1048576 riops=max wiops=max" ] || f "limit files: $got"
}
check "the job cgroup holds cpu.max, memory.max, memory.swap.max 0, pids.max and io.max as asked" check_limit_files

check_oom() {
  new_state
  local out; out=$(FF run --json --cgroup-parent /v2t-oom --memory-max-mb 64 -- "$TL" alloc 300); local rc=$?
  [ $rc = 137 ] || { f "exit status $rc, not 137"; return; }
  jq -e '.oom_killed == true and .platform_sla_reason == "oom_own_limit"' <<<"$(tail -1 <<<"$out")" >/dev/null || f "result: $(tail -1 <<<"$out")"
}
check "memory.max: 300 MiB under a 64 MiB limit is OOM-killed and reported so (swap on)" check_oom
check "swap cannot bypass a memory limit: 150 MiB under 64 MiB is OOM-killed with swap on (memory.swap.max 0)" reg_swap_bounded
check "memory_swap_max_mb 256 lets the same job swap and finish; ps shows the swap it uses" reg_swap_allowance

check_pids() {
  new_state
  # A forker that survives its refused forks (a shell would exit at the first one): it prints
  # how many forks the kernel allowed, then holds them.
  FF run --detach --cgroup-parent /v2t-pids --job-id pp --pids-max 5 -- /usr/bin/python3 -c '
import os, time
ok = 0
for i in range(12):
    try:
        if os.fork() == 0:
            time.sleep(6); os._exit(0)
        ok += 1
    except OSError:
        pass
print("forked", ok, flush=True)
time.sleep(6)' >/dev/null || { f "run failed"; return; }
  wait_until 20 grep -q forked "$S/jobs/pp/stdout.log" || { f "the forker did not report: $(cat "$S/jobs/pp/stderr.log" 2>/dev/null | tail -2)"; return; }
  local cur max forked; cur=$(cat $CG/v2t-pids/pp/pids.current); max=$(awk '$1 == "max" {print $2}' $CG/v2t-pids/pp/pids.events)
  forked=$(awk '{print $2}' "$S/jobs/pp/stdout.log")
  FF kill --cgroup-parent /v2t-pids pp --grace 1 >/dev/null
  [ "$cur" -le 5 ] && [ "$max" -gt 0 ] && [ "$forked" = 4 ] || f "pids.current $cur, pids.events max $max, forks allowed $forked under pids.max 5"
}
check "pids.max 5: a process that forks 12 children gets 4 (itself plus 4 = 5 tasks), and pids.events counts the refusals" check_pids

check_io() {
  new_state
  # dd's own figure (bytes over its own time), so ffrtmp's start-up under TCG does not count.
  local free lim
  free=$(FF run --cgroup-parent /v2t-io -- dd if=/dev/zero of=/dev/vda bs=64k count=64 seek=16 oflag=direct 2>&1 | awk '/copied/ {print $(NF-3)}')
  lim=$(FF run --cgroup-parent /v2t-io --io-max "$IODEV wbps=1048576" -- dd if=/dev/zero of=/dev/vda bs=64k count=64 seek=16 oflag=direct 2>&1 | awk '/copied/ {print $(NF-3)}')
  [ -n "$free" ] && [ -n "$lim" ] || { f "dd did not report (free '$free', limited '$lim')"; return; }
  echo "io.max wbps=1048576: 4 MiB direct in $lim s limited against $free s unlimited (dd's own time)" >> "$OUT/env.txt"
  awk -v l="$lim" -v u="$free" 'BEGIN {r = 4 / l; exit !(r < 1.4 && l > 3 * u)}' || f "4 MiB took $lim s limited and $free s unlimited"
}
check "io.max wbps=1 MiB/s on a virtio disk: direct writes slow to about 1 MiB/s (against unlimited in the same run)" check_io

check_weight() {
  new_state
  FF run --detach --cgroup-parent /v2t-w --job-id w1 --cpu-weight 100 -- taskset -c 0 "$TL" spin 14 >/dev/null || { f "run w1"; return; }
  FF run --detach --cgroup-parent /v2t-w --job-id w4 --cpu-weight 400 -- taskset -c 0 "$TL" spin 14 >/dev/null || { f "run w4"; return; }
  sleep 2
  local a0 b0 a1 b1; a0=$(usage_usec /v2t-w/w1); b0=$(usage_usec /v2t-w/w4)
  sleep 4
  a1=$(usage_usec /v2t-w/w1); b1=$(usage_usec /v2t-w/w4)
  FF kill --cgroup-parent /v2t-w w1 --grace 1 >/dev/null; FF kill --cgroup-parent /v2t-w w4 --grace 1 >/dev/null
  local ratio; ratio=$(awk -v a=$((a1 - a0)) -v b=$((b1 - b0)) 'BEGIN {printf "%.2f", b / (a > 0 ? a : 1)}')
  echo "cpu.weight 100:400 on one CPU: $((a1 - a0)) us : $((b1 - b0)) us = 1:$ratio" >> "$OUT/env.txt"
  awk -v r="$ratio" 'BEGIN {exit !(r > 2.5 && r < 6)}' || f "weights 100:400 on one CPU gave 1:$ratio"
}
check "cpu.weight 100 against 400 on one CPU shares it about 1:4" check_weight

# ------------------------------------------------------------------ placement, kill, crash
check_placement() {
  new_state
  local out; out=$(FF run --cgroup-parent /v2t-place --job-id pl -- cat /proc/self/cgroup) || { f "run failed"; return; }
  [ "$out" = "0::/v2t-place/pl" ] || { f "the workload's first read of /proc/self/cgroup says '$out'"; return; }
  # Born there: clone3(CLONE_INTO_CGROUP) placed it, with no migration (the shim's log says which).
  grep -rqs "born in its cgroup by clone3 CLONE_INTO_CGROUP" "$S/jobs/pl/" ||
    f "the shim did not start it with clone3: $(grep -rhs 'workload .* started\|clone3' "$S/jobs/pl/" | head -2)"
}
check "placement: the workload is born in its job cgroup by clone3(CLONE_INTO_CGROUP), its own first read of /proc/self/cgroup says so" check_placement

check_kill_escapees() {
  new_state
  FF run --detach --cgroup-parent /v2t-kill --job-id esc -- "$TL" escape 60 >/dev/null || { f "run failed"; return; }
  local i pids=""
  for i in $(seq 1 50); do pids=$(cat $CG/v2t-kill/esc/cgroup.procs 2>/dev/null); [ "$(wc -w <<<"$pids")" -ge 2 ] && break; sleep 0.1; done
  [ "$(wc -w <<<"$pids")" -ge 2 ] || { f "the escapee never appeared: $pids"; return; }
  local sid_other=0 p
  for p in $pids; do [ "$(stat_field "$p" 6)" != "$(stat_field "$(wpid esc)" 6)" ] && sid_other=1; done
  FF kill --cgroup-parent /v2t-kill esc --grace 1 >/dev/null || { f "kill failed"; return; }
  for p in $pids; do alive "$p" && { f "pid $p survived the kill"; return; }; done
  [ $sid_other = 1 ] || { f "no member had left the session (the test proved nothing)"; return; }
  wait_until 5 test ! -d $CG/v2t-kill/esc || f "the job cgroup is still there"
}
check "kill takes a setsid escapee that ignores SIGTERM (cgroup.kill), and the cgroup goes" check_kill_escapees

check_crash() {
  new_state
  setsid "$BIN/ffrtmp" run --cgroup-parent /v2t-crash --job-id cs -- "$TL" sleep 3 5 </dev/null >/dev/null 2>&1 &
  local run=$!
  wait_until 10 test -s "$S/jobs/cs/workload.pid" || { f "no workload"; return; }
  kill -9 "$run"; wait "$run" 2>/dev/null
  alive "$(wpid cs)" || { f "the workload died with ffrtmp run"; return; }
  wait_until 15 ended cs || { f "no exit record"; return; }
  [ "$(jq -r .exit_code "$S/jobs/cs/exit.json")" = 5 ] || f "exit_code $(jq -r .exit_code "$S/jobs/cs/exit.json"), not 5"
}
check "crash safety: kill -9 of ffrtmp run leaves the job running, and its real exit code (5) is recorded" check_crash

# ------------------------------------------------------------------ attach, orphans
check_attach_detach() {
  new_state
  setsid "$TL" sleep 60 </dev/null >/dev/null 2>&1 &
  local t=$!; local orig; orig=$(cat /proc/$t/cgroup)
  # The binary itself, not a shell function: $! must be ffrtmp's own pid. A background job of a
  # script has SIGINT ignored (POSIX), so the detach is asked for with SIGTERM.
  "$BIN/ffrtmp" attach --cgroup-parent /v2t-att --pid $t --job-id ad --cpu-percent 50 >"$S/attach.log" 2>&1 &
  local a=$!
  wait_until 10 grep -qx "0::/v2t-att/ad" /proc/$t/cgroup || { f "not adopted: $(cat /proc/$t/cgroup)"; kill -9 $t $a; return; }
  local q; q=$(cat $CG/v2t-att/ad/cpu.max)
  kill -TERM $a; wait $a 2>/dev/null
  local back; back=$(cat /proc/$t/cgroup)
  alive $t || { f "detach killed it: $(tail -2 "$S/attach.log")"; return; }
  kill -9 $t; wait $t 2>/dev/null
  [ "$q" = "50000 100000" ] || { f "cpu.max $q"; return; }
  [ "$back" = "$orig" ] || { f "back in '$back', not '$orig'"; return; }
  [ ! -d $CG/v2t-att/ad ] || f "the job cgroup is left after detach"
}
check "attach --pid moves a running process under its limits; detach hands it back where it was, alive" check_attach_detach
check "attach --pid: kill signals what was adopted, never the rest of its process group" reg_attach_pid_kill

check_attach_memory() {
  new_state
  setsid "$TL" alloc 64 60 </dev/null >/dev/null 2>&1 &
  local t=$!
  sleep 1.5
  "$BIN/ffrtmp" attach --cgroup-parent /v2t-attm --pid $t --job-id am --memory-max-mb 256 >/dev/null 2>&1 &
  local a=$!
  wait_until 10 grep -qx "0::/v2t-attm/am" /proc/$t/cgroup || { f "not adopted"; kill -9 $t $a; return; }
  local r cur; r=$(job_ps am); cur=$(cat $CG/v2t-attm/am/memory.current)
  kill -TERM $a; wait $a 2>/dev/null; kill -9 $t; wait $t 2>/dev/null
  jq -e '.governance == "degraded" and (.governance_reason | contains("memory not charged"))' <<<"$r" >/dev/null ||
    { f "governance says: $(jq -c '{governance, governance_reason}' <<<"$r") with memory.current $cur"; return; }
  [ "$cur" -lt $((32 * 1024 * 1024)) ] || f "memory.current $cur: the charge moved after all?"
}
check "attach with a memory limit: v2 never moves a charge, and governance says memory not charged" check_attach_memory

check_orphan_groups() {
  new_state
  setsid ffmpeg -nostdin -loglevel quiet -f lavfi -i testsrc=size=160x120:rate=10 -f null - </dev/null >/dev/null 2>&1 &
  local p=$!
  wait_until 10 test "$(cat /proc/$p/comm 2>/dev/null)" = ffmpeg || { f "ffmpeg did not start"; kill -9 $p; return; }
  sleep 0.5
  local o; o=$(FF orphans --json)
  kill -9 $p; wait $p 2>/dev/null
  jq -e --argjson p "$p" '.groups | any(.pgid == $p and .command == "ffmpeg")' <<<"$o" >/dev/null || f "orphans: $o"
}
check "orphans lists an ungoverned ffmpeg process group" check_orphan_groups

check_orphan_timeout() {
  new_state
  # Under TCG (and a loaded host) the first look can come after the deadline: then that look
  # must already have ended the job for it. Which case it was is measured, not assumed.
  local t0=${EPOCHREALTIME/./}
  FF run --detach --cgroup-parent /v2t-orph --job-id ot --timeout 6 -- "$TL" sleep 60 >/dev/null || { f "run failed"; return; }
  local w; w=$(wpid ot); kill -9 "$(spid ot)"
  wait_until 5 gone "$(spid ot)"
  local o; o=$(FF orphans --json)
  local looked=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
  if jq -e '.jobs | any(.job_id == "ot")' <<<"$o" >/dev/null; then
    # Listed before its deadline: the look after it ends it.
    sleep $(( 7 - looked / 1000 > 0 ? 7 - looked / 1000 : 0 ))
    FF orphans --json >/dev/null
  elif (( looked >= 6000 )) && jq -e '.settled | any(.job_id == "ot" and (.actions | any(test("ended at its timeout"))))' <<<"$o" >/dev/null; then
    echo "# orphan timeout: the first look came $looked ms after the start, past the 6 s deadline, and ended the job then" >> "$RESULTS"
  else
    f "the journal orphan is not listed ($looked ms after its start, deadline 6000 ms): $o"; kill -9 $w; return
  fi
  alive "$w" && { f "the orphan outlived its 6 s timeout"; kill -9 $w; return; }
  jq -e '.timed_out == true and .platform_sla_reason == "supervisor_lost"' <<<"$(job_ps ot)" >/dev/null || { f "$(job_ps ot)"; return; }
  [ ! -d $CG/v2t-orph/ot ] || f "its cgroup is left"
}
check "a shim killed with -9: orphans lists the job, ends it at its timeout (supervisor_lost), removes its cgroup" check_orphan_timeout

check_ps_usage() {
  new_state
  FF run --detach --cgroup-parent /v2t-ps --job-id pu --memory-max-mb 256 -- "$TL" alloc 48 15 >/dev/null || { f "run failed"; return; }
  sleep 2
  local r cur; r=$(job_ps pu 0.5); cur=$(cat $CG/v2t-ps/pu/memory.current)
  FF kill --cgroup-parent /v2t-ps pu --grace 1 >/dev/null
  local m; m=$(jq -r '.usage.memory_current_bytes' <<<"$r")
  awk -v a="$m" -v b="$cur" 'BEGIN {d = a - b; if (d < 0) d = -d; exit !(a > 45000000 && d < b * 0.1)}' ||
    { f "ps says $m bytes, memory.current $cur"; return; }
  [ "$(jq -r '.usage.memory_limit_bytes' <<<"$r")" = $((256 * 1024 * 1024)) ] || f "limit $(jq -r .usage.memory_limit_bytes <<<"$r")"
}
check "ps shows the memory in use and the limit as cgroupfs has them" check_ps_usage

check_orphan_kill() {
  new_state
  FF run --detach --cgroup-parent /v2t-ok --job-id ok1 -- "$TL" sleep 60 >/dev/null || { f "run failed"; return; }
  local w; w=$(wpid ok1); kill -9 "$(spid ok1)"; wait_until 5 gone "$(spid ok1)"
  local r; r=$(FF kill --cgroup-parent /v2t-ok ok1 --grace 1 --json 2>/dev/null | tail -1)
  gone "$w" || { f "the orphan survived its kill"; kill -9 "$w"; return; }
  jq -e '.platform_sla == false and .platform_sla_reason == "supervisor_lost" and .killed_by != null' <<<"$r" >/dev/null || { f "verdict: $r"; return; }
  [ ! -d $CG/v2t-ok/ok1 ] || f "its cgroup is left"
}
check "kill of an orphan (its shim killed with -9): the supervisor loss decides the verdict, not the kill" check_orphan_kill

check_timeout_escalation() {
  new_state
  local out; out=$(FF run --json --cgroup-parent /v2t-to --timeout 2 --grace 1 -- "$TL" stubborn 30 2>/dev/null | tail -1)
  jq -e '.timed_out == true and .signal == "SIGKILL" and .platform_sla_reason == "job_timeout" and .duration_seconds < 15' <<<"$out" >/dev/null ||
    f "a job that ignores SIGTERM past its 2 s timeout: $out"
}
check "the shim's timeout escalates to a cgroup-wide SIGKILL for a job that ignores SIGTERM" check_timeout_escalation

check "a launch cut short (kill -9 of ffrtmp run before its shim) is never_started, not lost; its cgroup goes" reg_never_started
check "a parent that holds processes is refused by name (no-internal-processes) and nothing is left" reg_busy_parent

check_parent_change() {
  new_state
  FF run --detach --cgroup-parent /v2t-pc --job-id mv -- "$TL" sleep 60 >/dev/null || { f "run failed"; return; }
  local w; w=$(wpid mv)
  FF kill --cgroup-parent /v2t-pc-renamed mv --grace 1 >/dev/null 2>&1 || { f "kill under another parent refused"; kill -9 $w; return; }
  gone "$w" || f "the job survived"
  rmdir $CG/v2t-pc-renamed 2>/dev/null || true
}
check "a job keeps the cgroup parent it was created under: kill after a parent change ends it" check_parent_change

# ------------------------------------------------------------------ delegation, agent, console
check "delegation: an agent in system.slice/ffrtmp-worker.service runs in …/agent, jobs under …/jobs, a restart keeps them" reg_delegation

check_agent_master() {
  new_state
  local D; D=$(mktemp -d /tmp/ffrtmp-v2m-XXXXXX)
  harness_key "$D"
  AUTH_HDR=$D/auth.hdr
  local port=18080
  master_start "$D" $port "sqlite:$D/master.db" || { f "master did not start"; return; }
  harness_node_key "$D" v2-node "sqlite:$D/master.db" || { f "no node key"; stop_pid "$MASTER_PID"; return; }
  mkdir -p "$D/media"; chown nobody "$D/media"; chmod 750 "$D/media"
  cat > "$D/worker.env" <<EOF
MASTER_URL=$MASTER_URL
FFRTMP_API_KEY_FILE=$D/node.key
NODE_ID=v2-node
POLL_INTERVAL=0.2
HEARTBEAT_INTERVAL=0.5
WRAPPER_ENABLED=true
FFMPEG_PATH=/usr/bin/ffmpeg
FFRTMP_STATE_DIR=$S
FFRTMP_CGROUP_PARENT=/v2t-agent
JOB_USER=nobody
MEDIA_ROOTS=$D/media
EOF
  chmod 600 "$D/worker.env"
  "$BIN/ffrtmp" agent --config "$D/worker.env" > "$D/agent.log" 2>&1 &
  local ag=$!
  api POST /api/jobs '{"id":"vj","engine":"ffmpeg","wrapper_enabled":true,"wrapper_constraints":{"cpu_max":"50000 100000","memory_max_mb":256},"parameters":{"input":"testsrc","resolution":"160x120","fps":10,"duration_seconds":4,"realtime":true}}' >/dev/null
  local q=""
  wait_until 40 test -e $CG/v2t-agent/vj.a1/cpu.max && q=$(cat $CG/v2t-agent/vj.a1/cpu.max 2>/dev/null)
  wait_until 60 sh -c "curl -s -H @$AUTH_HDR $MASTER_URL/api/jobs/vj | jq -e '.status == \"completed\"' >/dev/null"
  local j; j=$(api GET /api/jobs/vj)
  stop_pid $ag; stop_pid "$MASTER_PID"
  local log; log=$(tail -3 "$D/agent.log" 2>/dev/null)
  rm -rf "$D"
  [ "$q" = "50000 100000" ] || { f "the job's cpu.max was '$q'; agent log: $log"; return; }
  jq -e '.status == "completed" and .platform_sla == true and .result.metrics.governance == "full" and .result.metrics.wrapper_enabled == true' <<<"$j" >/dev/null ||
    f "at the master: $(jq -c '{status, platform_sla, platform_sla_reason, m: .result.metrics}' <<<"$j")"
}
check "the agent with a master on loopback runs a wrapped ffmpeg job under v2 limits; the master gets completed, governance full" check_agent_master

check_console() {
  new_state
  FF run --detach --cgroup-parent /v2t-con --job-id consolejob --cpu-max "40000 100000" -- "$TL" sleep 30 >/dev/null || { f "run failed"; return; }
  tmux -L v2 new-session -d -x 120 -y 40 "env TERM=tmux-256color FFRTMP_STATE_DIR=$S FFRTMP_CONSOLE=$FFRTMP_CONSOLE $BIN/ffrtmp console --readonly --cgroup-parent /v2t-con"
  local screen="" i
  for i in $(seq 1 40); do screen=$(tmux -L v2 capture-pane -p -t 0 2>/dev/null); grep -q consolejob <<<"$screen" && grep -q "40%" <<<"$screen" && break; sleep 0.5; done
  printf '%s\n' "$screen" > "$OUT/console-v2.txt"
  tmux -L v2 kill-server 2>/dev/null
  FF kill --cgroup-parent /v2t-con consolejob --grace 1 >/dev/null
  grep -q consolejob <<<"$screen" || { f "the job is not on the console"; return; }
  grep -q "40%" <<<"$screen" || f "the console does not show the 40% CPU limit"
}
check "the console in tmux (120x40) shows a running job with its v2 CPU limit (screen saved as docs/v2/console-v2.txt)" check_console

# Per-job pressure: a CPU-bound job held at 20% of a core stalls on its quota most of the
# time, which its own cpu.pressure records; the console's PSI column (v2 only) shows it. The
# console runs with LANG=C so the screen is ASCII and columns are found by byte offset.
check_console_psi() {
  new_state
  FF run --detach --cgroup-parent /v2t-con --job-id psijob --cpu-max "20000 100000" -- "$TL" spin 40 >/dev/null || { f "run failed"; return; }
  tmux -L v2 new-session -d -x 200 -y 50 "env TERM=tmux-256color LANG=C LC_ALL=C FFRTMP_STATE_DIR=$S FFRTMP_CONSOLE=$FFRTMP_CONSOLE $BIN/ffrtmp console --readonly --cgroup-parent /v2t-con"
  local screen="" i hdr="" row="" end psi=""
  for i in $(seq 1 60); do
    screen=$(tmux -L v2 capture-pane -p -t 0 2>/dev/null)
    hdr=$(grep -m1 "OUTCOME" <<<"$screen" || true); row=$(grep -m1 "psijob" <<<"$screen" || true)
    if [ -n "$hdr" ] && [ -n "$row" ] && grep -q PSI <<<"$hdr"; then
      # PSI is right-aligned in 5 cells: the value ends where the header's "PSI" ends.
      end=$(awk -v h="$hdr" 'BEGIN { print index(h, "PSI") + 2 }')
      psi=$(printf '%s' "${row:end-5:5}" | tr -d ' ')
      awk -v p="$psi" 'BEGIN { exit !(p + 0 > 0) }' && break
    fi
    sleep 0.5
  done
  printf '%s\n' "$screen" > "$OUT/console-v2-psi.txt"
  local pressure; pressure=$(cat "$CG/v2t-con/psijob/cpu.pressure" 2>&1 | head -1)
  tmux -L v2 kill-server 2>/dev/null
  FF kill --cgroup-parent /v2t-con psijob --grace 1 >/dev/null
  grep -q PSI <<<"$hdr" || { f "no PSI column on v2; header: $hdr"; return; }
  awk -v p="$psi" 'BEGIN { exit !(p + 0 > 0) }' || f "the PSI cell of a job held at 20% was '$psi' (want > 0); its cpu.pressure: $pressure"
}
check "the console's PSI column shows cpu pressure > 0 for a CPU-bound job under a 20% quota (screen saved as docs/v2/console-v2-psi.txt)" check_console_psi

# ------------------------------------------------------------------ auto-attach
# The host's own auto-attach suite (scripts/test_auto_attach.sh), run here on v2: a setsid ffmpeg
# adopted with the default limits (cpu.max, memory.max) while its frames go on, dry run, the
# groups never moved, refusals kept by identity. Its lines go to auto-attach.txt in the rwdir.
check_auto_attach() {
  local out rc
  out=$(FFRTMP_BIN_DIR=$BIN bash "$REPO/scripts/test_auto_attach.sh" 2>&1); rc=$?
  printf '%s\n' "$out" > "$OUT/auto-attach.txt"
  grep '^# measure' <<<"$out" >> "$RESULTS"
  [ $rc = 0 ] || f "$(grep -E '^(not ok|Bail)' <<<"$out" | head -3 | tr '\n' ' ')"
}
check "auto-attach on v2: a setsid ffmpeg is adopted with the default limits and its frames go on; dry run, never-moved groups and kept refusals (scripts/test_auto_attach.sh)" check_auto_attach

# ------------------------------------------------------------------ cleanup
check_cleanup() {
  local left d why=""; left=$(find $CG/v2t-* -mindepth 1 -type d 2>/dev/null)
  for d in $left; do why="$why $d (procs '$(cat "$d/cgroup.procs" 2>&1 | tr '\n' ' ')', $(tr '\n' ' ' < "$d/cgroup.events" 2>&1), journal: $(ls "$(dirname "$(grep -l "\"path\":\"${d#$CG}\"" /tmp/ffrtmp-v2s-*/jobs/*/spec.json 2>/dev/null | head -1)")" 2>/dev/null | tr '\n' ' '))"; done
  [ -z "$left" ] || f "job cgroups left behind:$why"
}
check "cleanup: every job cgroup the suite's jobs made is gone (ffrtmp removed them)" check_cleanup
for d in $CG/v2t-*; do [ -d "$d" ] && rmdir "$d"; done

# ------------------------------------------------------------------ optional: start latency
if [ "${V2_BENCH:-0}" = 1 ] && [ -x "$REPO/scripts/v2lane/run-latency.sh" ]; then bash "$REPO/scripts/v2lane/run-latency.sh" > "$OUT/run-latency.txt" 2>>"$OUT/suite.log"; fi

echo "$pass passed, $fail failed" >> "$RESULTS"
swapoff /dev/vdb 2>/dev/null
