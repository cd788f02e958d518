# shellcheck shell=bash
# Chaos section 5, sourced by scripts/chaos/run.sh (it uses that script's checks and harness):
# dispatch to a fleet under faults, against a master of its own with a short lease.
#   a. kill -9 of an agent right after the master committed its assignment, a second agent online:
#      the job is requeued when the lease ends, runs once as attempt 2, the stale attempt never runs;
#   b. a poll answer dropped by a proxy that closes the connection: once (the repeated poll, same
#      request id, gets the same assignment back), and then with the link cut (requeued, attempt 2
#      elsewhere, never started by the first node after the link heals);
#   c. two agents with one NODE_ID: the second is refused (409) and takes no job until the first is gone;
#   d. jobs submitted while an agent's state dir is full: none is taken, each gets its verdict later;
#   e. kill -9 of the agent during a cancel's grace period (an engine that ignores SIGTERM): the
#      restarted agent re-arms the kill, the workload dies, the job ends canceled.

note "5. fleet dispatch under faults (lease ${FLEASE:=3} s, node lost after ${FLOST:=8} s)"
stop_pid "$MASTER_PID" 10
MASTER_PID=""
FW=$work/fleet
mkdir -p "$FW"
FDB=sqlite:$FW/master.db
FPORT=$(free_port "${CHAOS_PORT_LO:-18300}" "${CHAOS_PORT_HI:-18399}") || exit 1
MASTER_EXTRA_ARGS="--dispatch-lease $FLEASE --node-lost-after $FLOST" master_start "$work" "$FPORT" "$FDB" "$FW/master.log" || exit 1
FMASTER=$MASTER_URL
PPORT=$(free_port $((FPORT + 1)) "${CHAOS_PORT_HI:-18399}") || exit 1
PROXY_MODE=$FW/proxy.mode PROXY_EVENTS=$FW/proxy.events
echo pass > "$PROXY_MODE"
: > "$PROXY_EVENTS"
python3 "$repo/scripts/chaos/poll_proxy.py" "$PPORT" "$FPORT" "$PROXY_MODE" "$PROXY_EVENTS" 2>>"$FW/proxy.log" &
PROXY_PID=$!
PROXIED=http://127.0.0.1:$PPORT
wait_until 10 curl -sf "$PROXIED/health" -o /dev/null || fail "the poll proxy answers" "see $FW/proxy.log"

fleet_agent() {  # NAME NODE_ID URL [WORKER.ENV LINE...]: starts (or restarts) agent NAME
  local name=$1 node=$2 url=$3 d=$FW/$1
  shift 3
  mkdir -p "$d/state"
  [ -s "$d/node.key" ] || harness_node_key "$d" "$node" "$FDB" || return 1
  printf '%s\n' "MASTER_URL=$url" "FFRTMP_API_KEY_FILE=$d/node.key" "NODE_ID=$node" "MAX_JOBS=4" "POLL_INTERVAL=0.2" \
    "HEARTBEAT_INTERVAL=1" "WRAPPER_ENABLED=true" "FFMPEG_PATH=$(command -v ffmpeg)" "JOB_USER=nobody" "MEDIA_ROOTS=$work/media" \
    "FFRTMP_CGROUP_PARENT=$PARENT" "$@" > "$d/worker.env"
  grep -q '^FFRTMP_STATE_DIR=' "$d/worker.env" || echo "FFRTMP_STATE_DIR=$d/state" >> "$d/worker.env"
  FFRTMP_STATE_DIR=$(sed -n 's/^FFRTMP_STATE_DIR=//p' "$d/worker.env") "$BIN/ffrtmp" agent --config "$d/worker.env" >>"$d/agent.log" 2>&1 &
  FPID[$name]=$!
}
fleet_stop() { stop_pid "${FPID[$1]:-}" 10; FPID[$1]=""; }
fleet_kill9() { kill -KILL "${FPID[$1]}"; wait "${FPID[$1]}" 2>/dev/null; FPID[$1]=""; }
fleet_submit() {  # ID SECONDS
  api POST /api/jobs "{\"id\":\"$1\",\"engine\":\"ffmpeg\",\"wrapper_enabled\":true,\"parameters\":$(params_testsrc "$2" "")}" >/dev/null
  [ "$API_STATUS" = 201 ] || { fail "submit $1" "HTTP $API_STATUS"; return 1; }
}
node_online() { api GET /api/nodes | jqtest --arg n "$1" 'any(.[]; .id == $n and .status == "online")'; }
dropped() { grep -q "^dropped $1\$" "$PROXY_EVENTS"; }
job_is() {  # ID STATUS ATTEMPT NODE: the master's record
  job_json "$1" | jqtest --arg s "$2" --argjson a "$3" --arg n "$4" '.status == $s and .attempt == $a and .node_id == $n and .result.attempt == $a'
}
journal_has() { [ -d "$FW/$1/state/jobs/$2" ]; }  # AGENT JOURNAL_ID
fleet_state() { job_json "$1" | jq -c '{status, attempt, node_id}'; }
job_status_is() { job_json "$1" | jqtest --arg s "$2" '.status == $s'; }  # ID STATUS
assigned_to() { job_json "$1" | jqtest --arg n "$2" '.status == "assigned" and .node_id == $n and .attempt == 1'; }  # ID NODE
all_queued() { local j; for j; do job_status_is "$j" queued || return 1; done; }
no_rejects_no_dups() {
  [ -z "$(find "$FW" -path '*/outbox/rejected/*' -type f)" ] &&
    [ "$(curl -s "$FMASTER/metrics" | awk '$1 == "ffrtmp_master_results_duplicate_total" {print $2}')" = 0 ]
}

# ---- a. kill -9 right after the master committed the assignment
echo drop-then-partition > "$PROXY_MODE"
fleet_agent a fleet-a "$PROXIED"
wait_until 20 node_online fleet-a || fail "fleet-a registered through the proxy" "see $FW/a/agent.log"
fleet_submit L1 2
wait_until 20 dropped L1 || fail "the master assigned L1 to fleet-a (its answer held at the proxy)" "$(cat "$PROXY_EVENTS")"
fleet_kill9 a
held_at=$SECONDS
check "L1 is assigned to fleet-a at the master, whose agent is dead: $(fleet_state L1)" assigned_to L1 fleet-a
fleet_agent b fleet-b "$FMASTER"
if wait_until 40 terminal L1; then
  check "L1 requeued after the lease and completed once as attempt 2 on fleet-b ($((SECONDS - held_at)) s): $(fleet_state L1)" job_is L1 completed 2 fleet-b
else
  fail "L1 requeued after the lease and completed" "$(fleet_state L1)"
fi
check "  ... the master logged the requeue" grep -q "jobs=L1 .*requeued as new attempts" "$FW/master.log"
check "  ... the stale attempt never ran: no L1.a1 anywhere, L1.a2 on fleet-b" \
  bash -c "[ ! -e '$FW/a/state/jobs/L1.a1' ] && [ ! -e '$FW/b/state/jobs/L1.a1' ] && [ -d '$FW/b/state/jobs/L1.a2' ]"
echo pass > "$PROXY_MODE"
fleet_agent a fleet-a "$PROXIED"
wait_until 20 node_online fleet-a || fail "fleet-a back online after its restart" "see $FW/a/agent.log"
sleep 2
check "  ... and fleet-a, restarted, does not run it either" test ! -e "$FW/a/state/jobs/L1.a1"

# ---- b. a dropped poll answer
fleet_stop b
echo drop-once > "$PROXY_MODE"
fleet_submit D1 2
wait_until 20 dropped D1 || fail "the proxy dropped the answer that assigned D1" "$(cat "$PROXY_EVENTS")"
if wait_until 30 terminal D1; then
  check "D1's answer lost once: the repeated poll (same request id) got the same assignment, attempt 1 ran on fleet-a: $(fleet_state D1)" job_is D1 completed 1 fleet-a
else
  fail "D1 completed after its poll answer was lost" "$(fleet_state D1)"
fi
echo drop-then-partition > "$PROXY_MODE"
fleet_submit D2 2
wait_until 20 dropped D2 || fail "the proxy dropped the answer that assigned D2, then cut fleet-a off" "$(cat "$PROXY_EVENTS")"
fleet_agent b fleet-b "$FMASTER"
if wait_until 40 terminal D2; then
  check "D2's answer lost and fleet-a cut off: requeued after the lease, completed as attempt 2 on fleet-b: $(fleet_state D2)" job_is D2 completed 2 fleet-b
else
  fail "D2 requeued and completed elsewhere" "$(fleet_state D2)"
fi
echo pass > "$PROXY_MODE"
wait_until 20 node_online fleet-a || fail "fleet-a online again after the partition" "see $FW/a/agent.log"
sleep 2
check "  ... fleet-a, its link back, never starts the stale attempt (no D2.a1)" test ! -e "$FW/a/state/jobs/D2.a1"
check "  ... no result was refused or sent twice (no outbox/rejected, duplicate counter 0)" no_rejects_no_dups
fleet_stop a
fleet_stop b

# ---- c. two agents with one NODE_ID
fleet_agent t1 twin "$FMASTER"
wait_until 20 node_online twin || fail "the first twin registered" "see $FW/t1/agent.log"
mkdir -p "$FW/t2"
(umask 077; cp "$FW/t1/node.key" "$FW/t2/node.key")
fleet_agent t2 twin "$FMASTER"
host=$(hostname)
if wait_until 15 grep -q "register refused: another live agent already uses NODE_ID=twin" "$FW/t2/agent.log"; then
  check "the second agent with NODE_ID=twin is refused (409) naming both hosts" \
    grep -q "already live on host $host .*this agent runs on host $host" "$FW/t2/agent.log"
else
  fail "the second agent with NODE_ID=twin is refused (409)" "$(tail -3 "$FW/t2/agent.log")"
fi
for t in T1 T2 T3; do fleet_submit "$t" 1; done
wait_until 30 terminal T1 T2 T3 || fail "T1-T3 completed" "$(fleet_state T1) $(fleet_state T2) $(fleet_state T3)"
check "  ... and takes no job: T1-T3 all ran on the first twin" \
  bash -c "ls -d '$FW'/t1/state/jobs/T?.a1 | wc -l | grep -qx 3 && [ -z \"\$(ls '$FW/t2/state/jobs' 2>/dev/null)\" ]"
fleet_stop t1
if wait_until $((FLOST + 15)) grep -q "registered with" "$FW/t2/agent.log"; then
  fleet_submit T4 1
  wait_until 30 terminal T4
  check "once the first twin is gone (lost after ${FLOST} s), the second takes over and runs T4" journal_has t2 T4.a1
else
  fail "the second twin takes over once the first is gone" "$(tail -3 "$FW/t2/agent.log")"
fi
fleet_stop t2

# ---- d. a full state dir
TINYF=$FW/tinystate
mkdir -p "$TINYF"
if mount -t tmpfs -o size=4m,mode=0700 ffrtmp-chaos-fleet "$TINYF"; then
  fleet_agent f fleet-f "$FMASTER" "FFRTMP_STATE_DIR=$TINYF/state" "POLL_RESERVE_MB=1"
  wait_until 20 node_online fleet-f || fail "fleet-f registered" "see $FW/f/agent.log"
  dd if=/dev/zero of="$TINYF/fill" bs=4k 2>/dev/null
  fleet_submit F1 1
  fleet_submit F2 1
  sleep 3
  check "with its state dir full, the agent takes no job (F1, F2 queued: $(fleet_state F1) $(fleet_state F2))" all_queued F1 F2
  check "  ... and says why" grep -q "not polling: the state dir $TINYF/state has 0 MiB free" "$FW/f/agent.log"
  rm -f "$TINYF/fill"
  if wait_until 30 terminal F1 F2; then
    f_done() { job_is F1 completed 1 fleet-f && job_is F2 completed 1 fleet-f; }
    check "  ... with room again each gets its verdict (none left assigned): $(fleet_state F1) $(fleet_state F2)" f_done
  else
    fail "  ... with room again each gets its verdict" "$(fleet_state F1) $(fleet_state F2)"
  fi
  fleet_stop f
  umount "$TINYF"
else
  fail "mount a tmpfs for the full state dir" ""
fi

# ---- e. kill -9 during a cancel's grace period
STUBDIR=$(mktemp -d /tmp/ffrtmp-stub-XXXXXX)
chmod 755 "$STUBDIR"
ln -s "$BIN/ffrtmp-testload" "$STUBDIR/stubborn-ffmpeg"   # ffrtmp-testload under that name ignores SIGTERM
fleet_agent g fleet-g "$FMASTER" "FFMPEG_PATH=$STUBDIR/stubborn-ffmpeg"
fleet_submit S1 60
wpid() { awk '{print $1}' "$FW/g/state/jobs/S1.a1/workload.pid" 2>/dev/null; }
wait_until 20 bash -c "p=\$(awk '{print \$1}' '$FW/g/state/jobs/S1.a1/workload.pid' 2>/dev/null); [ -n \"\$p\" ] && kill -0 \$p" \
  || fail "the stubborn engine runs" "see $FW/g/agent.log"
S1PID=$(wpid)
api POST /api/jobs/S1/cancel >/dev/null
wait_until 15 test -e "$FW/g/state/jobs/S1.a1/kill-request" || fail "the agent took the cancel" "see $FW/g/agent.log"
fleet_kill9 g
sleep 1
check "a workload that ignores SIGTERM outlives the agent killed during the grace period" kill -0 "$S1PID"
fleet_agent g fleet-g "$FMASTER" "FFMPEG_PATH=$STUBDIR/stubborn-ffmpeg"
if wait_until 25 bash -c "! kill -0 $S1PID 2>/dev/null"; then
  pass "  ... the restarted agent re-armed the kill: the workload died"
else
  fail "  ... the restarted agent re-armed the kill: the workload died" "pid $S1PID still alive"
fi
wait_until 20 terminal S1
check "  ... and the job ended canceled at the master: $(fleet_state S1)" job_status_is S1 canceled
fleet_stop g
rm -rf "$STUBDIR"
stop_pid "$PROXY_PID" 3
PROXY_PID=""
