# shellcheck shell=bash
# Regression checks for the bugs the first v2 run found (issue 14), sourced by scripts/v2lane/suite.sh
# inside the VM. Expects: BIN, a `t NAME FUNCTION` / `f REASON` harness, alive/gone, and a fresh
# state dir per check family. Each check makes its own cgroup parent and removes it.
R_CG=/sys/fs/cgroup
r_wait() { local deadline=$(( $(date +%s%N) + $1 * 1000000000 )); shift; until "$@"; do [ "$(date +%s%N)" -lt "$deadline" ] || return 1; sleep 0.1; done; }
r_state() { R_STATE=$(mktemp -d /tmp/ffrtmp-v2reg-XXXXXX); chmod 750 "$R_STATE"; export FFRTMP_STATE_DIR=$R_STATE; }
r_rmtree() { # remove a cgroup subtree (deepest first), after killing what is in it
  local top=$R_CG$1 d
  [ -d "$top" ] || return 0
  find "$top" -name cgroup.kill -exec sh -c 'echo 1 > "$1"' _ {} \; 2>/dev/null || true
  sleep 0.2
  find "$top" -depth -type d -exec rmdir {} \; 2>/dev/null || true
}
r_ps() { "$BIN/ffrtmp" ps --json --interval 0 | jq -c --arg id "$1" '.[] | select(.job_id == $id)'; }

# --- swap cannot bypass a memory limit (needs swap on: SWAP_ON=1)
reg_swap_bounded() {
  [ "${SWAP_ON:-0}" = 1 ] || { f "no swap in the VM"; return; }
  r_state; local P=/ffrtmp-reg-swap
  "$BIN/ffrtmp" run --detach --cgroup-parent $P --job-id sw0 --memory-max-mb 64 -- "$BIN/ffrtmp-testload" alloc 150 >/dev/null || { f "run failed"; return; }
  local sm; sm=$(cat $R_CG$P/sw0/memory.swap.max 2>/dev/null)
  r_wait 60 test -s "$R_STATE/jobs/sw0/exit.json" || { f "sw0 did not end (swap let it run on?)"; r_rmtree $P; return; }
  local r; r=$(r_ps sw0)
  r_rmtree $P
  [ "$sm" = 0 ] || { f "memory.swap.max was '$sm', not 0"; return; }
  jq -e '.oom_killed == true and .signal == "SIGKILL"' <<<"$r" >/dev/null || { f "a 150 MiB job under a 64 MiB limit was not OOM-killed with swap on: $r"; return; }
}
reg_swap_allowance() {
  [ "${SWAP_ON:-0}" = 1 ] || { f "no swap in the VM"; return; }
  r_state; local P=/ffrtmp-reg-swap2
  "$BIN/ffrtmp" run --detach --cgroup-parent $P --job-id sw1 --memory-max-mb 64 --memory-swap-max-mb 256 -- "$BIN/ffrtmp-testload" alloc 150 8 >/dev/null || { f "run failed"; return; }
  local sm; sm=$(cat $R_CG$P/sw1/memory.swap.max 2>/dev/null)
  local used=0 i
  for i in $(seq 1 60); do
    used=$(r_ps sw1 | jq -r '.usage.swap_current_bytes // 0')
    [ "$used" -gt 50000000 ] 2>/dev/null && break
    sleep 0.5
  done
  local cur; cur=$(cat $R_CG$P/sw1/memory.swap.current 2>/dev/null || echo 0)
  r_wait 60 test -s "$R_STATE/jobs/sw1/exit.json" || { f "sw1 did not end"; r_rmtree $P; return; }
  local r; r=$(r_ps sw1)
  r_rmtree $P
  [ "$sm" = $((256 * 1024 * 1024)) ] || { f "memory.swap.max was '$sm'"; return; }
  [ "$used" -gt 50000000 ] 2>/dev/null || { f "ps never showed the job's swap (last: $used; memory.swap.current $cur)"; return; }
  jq -e '.exit_code == 0 and .oom_killed == false' <<<"$r" >/dev/null || { f "with a 256 MiB swap allowance the job did not finish: $r"; return; }
}

# --- attach --pid kills only what it adopted
reg_attach_pid_kill() {
  r_state; local P=/ffrtmp-reg-attach
  setsid sh -c "\"$BIN/ffrtmp-testload\" sleep 60 & exec sleep 60" </dev/null >/dev/null 2>&1 &
  local sh=$! target="" by="" i
  for i in $(seq 1 50); do
    target=$(pgrep -g "$sh" -x ffrtmp-testload || true); by=$(pgrep -g "$sh" -x sleep || true)
    [ -n "$target" ] && [ -n "$by" ] && break; sleep 0.1
  done
  [ -n "$target" ] && [ -n "$by" ] || { f "group not set up"; kill -9 -- "-$sh" 2>/dev/null; return; }
  "$BIN/ffrtmp" attach --cgroup-parent $P --pid "$target" --job-id ap >/dev/null 2>&1 &
  local att=$!
  r_wait 20 grep -q "$P/ap" "/proc/$target/cgroup" || { f "not adopted"; kill -9 -- "-$sh" "$att" 2>/dev/null; return; }
  "$BIN/ffrtmp" kill --cgroup-parent $P ap --grace 5 >/dev/null 2>&1 || { f "kill failed"; kill -9 -- "-$sh" 2>/dev/null; return; }
  r_wait 10 gone "$target" || { f "the adopted process survived"; kill -9 -- "-$sh" 2>/dev/null; return; }
  local ok=1; alive "$by" || ok=0
  kill -9 -- "-$sh" 2>/dev/null; wait "$att" 2>/dev/null; r_rmtree $P
  [ $ok = 1 ] || { f "kill of an attach --pid job killed a process of its group that was never adopted"; return; }
}

# --- a launch cut short is never_started, its cgroup removed
reg_never_started() {
  r_state; local P=/ffrtmp-reg-ns
  printf '#!/bin/sh\nexec sleep 60\n' > "$R_STATE/stuck-shim"; chmod 755 "$R_STATE/stuck-shim"
  FFRTMP_SHIM=$R_STATE/stuck-shim setsid "$BIN/ffrtmp" run --cgroup-parent $P --job-id ns --memory-max-mb 64 -- /bin/true </dev/null >/dev/null 2>&1 &
  local run=$! shim="" i
  for i in $(seq 1 100); do shim=$(pgrep -P "$run" || true); [ -n "$shim" ] && break; sleep 0.1; done
  [ -n "$shim" ] || { f "the launcher never spawned its shim"; kill -9 "$run"; return; }
  [ -d "$R_CG$P/ns" ] || { f "no cgroup before the shim"; kill -9 "$run" "$shim"; return; }
  kill -9 "$run" "$shim"; wait "$run" 2>/dev/null
  sleep 5.5
  local r; r=$(r_ps ns)
  local left=0; [ -d "$R_CG$P/ns" ] && left=1
  local k; k=$("$BIN/ffrtmp" kill --cgroup-parent $P ns 2>&1); local krc=$?
  r_rmtree $P
  jq -e '.state == "never_started" and .platform_sla == true and .platform_sla_reason == "launch_abandoned"' <<<"$r" >/dev/null ||
    { f "after kill -9 of ffrtmp run before its shim: $r"; return; }
  [ $left = 0 ] || { f "its cgroup $P/ns was left behind"; return; }
  [ $krc = 0 ] || { f "ffrtmp kill of a never-started job: $k"; return; }
}

# --- a parent that holds processes is refused by name, and nothing is left
reg_busy_parent() {
  r_state; local P=/ffrtmp-reg-busy
  mkdir -p $R_CG$P
  setsid sleep 60 </dev/null >/dev/null 2>&1 &
  local s=$!
  echo "$s" > $R_CG$P/cgroup.procs
  local out; out=$("$BIN/ffrtmp" run --cgroup-parent $P/inner --job-id b --memory-max-mb 64 -- /bin/true 2>&1); local rc=$?
  local inner=0; [ -d $R_CG$P/inner ] && inner=1
  kill -9 "$s"; wait "$s" 2>/dev/null; r_rmtree $P
  [ $rc != 0 ] || { f "a job under a parent that holds processes ran: $out"; return; }
  grep -q "no-internal-processes" <<<"$out" || { f "the error does not name the rule: $out"; return; }
  [ $inner = 0 ] || { f "$P/inner was left behind"; return; }
  [ ! -d "$R_STATE/jobs/b" ] || { f "a job dir was left behind"; return; }
}

# --- delegation: an agent in system.slice/ffrtmp-worker.service takes its own subtree
reg_delegation() {
  r_state
  local U=/system.slice/ffrtmp-worker.service c
  # As systemd lays it out: controllers enabled from the root down to the slice, the unit delegated.
  for c in cpu memory io pids; do echo "+$c" > $R_CG/cgroup.subtree_control 2>/dev/null || true; done
  mkdir -p $R_CG$U
  for c in cpu memory io pids; do echo "+$c" > $R_CG/system.slice/cgroup.subtree_control 2>/dev/null || true; done
  cat > "$R_STATE/worker.env" <<EOF
NODE_ID=v2-deleg
WRAPPER_ENABLED=true
FFRTMP_STATE_DIR=$R_STATE
FFRTMP_CGROUP_DRIVER=v2
JOB_USER=nobody
MEDIA_ROOTS=$R_STATE
EOF
  chmod 600 "$R_STATE/worker.env"
  local env=(env -u FFRTMP_CGROUP_PARENT -u INVOCATION_ID)
  setsid "${env[@]}" sh -c "echo \$\$ > $R_CG$U/cgroup.procs && exec \"$BIN/ffrtmp\" agent --config \"$R_STATE/worker.env\"" </dev/null >"$R_STATE/agent1.log" 2>&1 &
  local a1=$!
  r_wait 20 grep -qx "0::$U/agent" "/proc/$a1/cgroup" || { f "the agent is not in $U/agent: $(cat /proc/$a1/cgroup 2>&1) $(tail -3 "$R_STATE/agent1.log")"; kill -9 "$a1"; r_rmtree $U; return; }
  r_wait 10 test -s "$R_STATE/cgroup-delegation" || { f "no cgroup-delegation record"; kill -9 "$a1"; r_rmtree $U; return; }
  # ffrtmp run from a shell (no parent given) puts its job where the agent's go.
  "${env[@]}" "$BIN/ffrtmp" run --detach --job-id dj --memory-max-mb 64 -- "$BIN/ffrtmp-testload" sleep 8 >/dev/null 2>&1 || { f "run failed"; kill -9 "$a1"; r_rmtree $U; return; }
  local w; w=$(cut -d' ' -f1 "$R_STATE/jobs/dj/workload.pid")
  local where; where=$(cat "/proc/$w/cgroup")
  local sc; sc=$(cat $R_CG$U/jobs/cgroup.subtree_control)
  # A restart as systemd does it with KillMode=process and DelegateSubgroup=agent: only the agent
  # is signalled, the next one starts in the same leaf, and the job runs on.
  kill -TERM "$a1"; wait "$a1" 2>/dev/null
  alive "$w" || { f "the job died with the agent"; r_rmtree $U; return; }
  setsid "${env[@]}" sh -c "echo \$\$ > $R_CG$U/agent/cgroup.procs && exec \"$BIN/ffrtmp\" agent --config \"$R_STATE/worker.env\"" </dev/null >"$R_STATE/agent2.log" 2>&1 &
  local a2=$!
  r_wait 20 grep -q "delegated $U" "$R_STATE/agent2.log" || { f "the restarted agent did not take the delegation: $(tail -3 "$R_STATE/agent2.log")"; kill -9 "$a2"; r_rmtree $U; return; }
  r_wait 30 test -s "$R_STATE/jobs/dj/exit.json" || { f "dj did not finish after the restart"; kill -9 "$a2"; r_rmtree $U; return; }
  local code; code=$(jq -r .exit_code "$R_STATE/jobs/dj/exit.json")
  local left=0; r_wait 5 test ! -d "$R_CG$U/jobs/dj" || left=1
  kill -TERM "$a2"; wait "$a2" 2>/dev/null
  r_rmtree $U
  [ "$where" = "0::$U/jobs/dj" ] || { f "the job ran in '$where', not $U/jobs/dj"; return; }
  grep -q memory <<<"$sc" || { f "$U/jobs has no memory controller for its children: '$sc'"; return; }
  [ "$code" = 0 ] || { f "dj ended with exit_code $code"; return; }
  [ $left = 0 ] || { f "dj's cgroup was left behind"; return; }
}
