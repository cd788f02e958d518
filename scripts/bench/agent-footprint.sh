#!/usr/bin/env bash
# The agent's own cost: RSS, PSS and CPU (utime+stime from /proc/PID/stat over a window) of
# `ffrtmp agent` supervising 0, 100 and 500 wrapped jobs, connected to a real ffrtmp-master
# (SQLite) with its default 2 s poll and 10 s heartbeat. Once a second the agent checks every
# tracked job (journal, /proc) and samples its cgroup (CPU, memory, throttling, pids): that
# per-job work is what this measures.
#
# The jobs are `sleep` workloads, so the box stays quiet. The agent only execs FFMPEG_PATH or
# GST_LAUNCH_PATH with an engine's argv, so they are not launched by the agent: each is a real
# master job, dispatched to this node (GET /api/jobs/next), started with `ffrtmp run --detach`
# under the journal id the agent would use (<id>.a1) with the agent.json it would write, and
# the agent is started after them: it re-adopts them exactly as after a restart (AGENT.md), and
# from then on supervises and reports them like its own. At the end the workloads are
# terminated and the script checks that the master got all N results from the agent.
#
#   scripts/bench/agent-footprint.sh [WINDOW_SEC] [N...]   (root; default 45, N = 0 100 500;
#                                                           writes docs/bench/agent-footprint.txt)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/scripts/lib/harness.sh"
harness_require curl jq
WINDOW=${1:-45}
shift || true
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(0 100 500)

work=$(mktemp -d /tmp/ffrtmp-bench-agent-XXXXXX)
AUTH_HDR=$work/auth.hdr
PARENT=/ffrtmp-bench-agent-$$
MASTER_PID="" AGENT_PID=""
cleanup() {
  stop_pid "$AGENT_PID" 5
  stop_pid "$MASTER_PID" 5
  cgroup_cleanup "$PARENT"
  rm -rf "$work"
}
trap cleanup EXIT
harness_key "$work"
export FFRTMP_CGROUP_PARENT=$PARENT
PORT=$(free_port "${BENCH_PORT_LO:-18400}" "${BENCH_PORT_HI:-18499}")
# The bench registers and dispatches for its agents with the admin key: a migration-mode master.
HARNESS_SHARED_NODE_KEY=1 master_start "$work" "$PORT" "sqlite:$work/master.db"
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
terminal_count() {  # NODE: jobs of that node in a final state at the master
  api GET "/api/jobs?node_id=$1&limit=1000" | jq '[.[] | select(.status == "completed" or .status == "failed" or .status == "canceled" or .status == "timed_out")] | length'
}
all_reported() { [ "$(terminal_count "$1")" = "$2" ]; }

out=$repo/docs/bench/agent-footprint.txt
mkdir -p "$repo/docs/bench"
{
  echo "agent-footprint: $(date -u +%FT%TZ), ${WINDOW}s CPU window after a 5 s settle, sleep workloads, master on SQLite"
  machine_line
  printf '%-6s %-10s %-10s %-8s %-22s %s\n' jobs "RSS (MiB)" "PSS (MiB)" threads "CPU (% of one core)" "CPU per job per second"
} | tee "$out"
for n in "${counts[@]}"; do
  node=bench-agent-$n
  state=$work/state-$n
  mkdir -p "$state"
  api POST /api/nodes/register "{\"node_id\":\"$node\",\"hostname\":\"$node\",\"wrapper_enabled\":true}" >/dev/null
  for ((i = 0; i < n; i++)); do
    id=f$n-$i
    api POST /api/jobs "{\"id\":\"$id\",\"engine\":\"ffmpeg\",\"wrapper_enabled\":true,\"parameters\":{\"input\":\"testsrc\"}}" >/dev/null
    [ "$API_STATUS" = 201 ] || { echo "submit $id: HTTP $API_STATUS" >&2; exit 1; }
    got=$(api GET "/api/jobs/next?node_id=$node" | jq -r '"\(.id) \(.attempt)"')
    [ "$got" = "$id 1" ] || { echo "dispatch: got '$got', want '$id 1'" >&2; exit 1; }
    FFRTMP_STATE_DIR=$state "$BIN/ffrtmp" run --detach --job-id "$id.a1" -- /bin/sleep 3600 >/dev/null
    printf '{"master_job_id":"%s","attempt":1,"path":"wrapper","wrapper_enabled":true,"node_id":"%s"}' "$id" "$node" > "$state/jobs/$id.a1/agent.json"
  done
  cat > "$work/worker-$n.env" <<EOF
MASTER_URL=$MASTER_URL
FFRTMP_API_KEY_FILE=$work/api.key
NODE_ID=$node
MAX_JOBS=1024
WRAPPER_ENABLED=true
FFRTMP_STATE_DIR=$state
FFRTMP_CGROUP_PARENT=$PARENT
JOB_USER=nobody
EOF
  : > "$work/agent-$n.log"
  "$BIN/ffrtmp" agent --config "$work/worker-$n.env" >>"$work/agent-$n.log" 2>&1 &
  AGENT_PID=$!
  wait_until 60 grep -q "agent started" "$work/agent-$n.log" || { echo "agent did not start; see log" >&2; cat "$work/agent-$n.log" >&2; exit 1; }
  if [ "$n" -gt 0 ]; then grep -q "re-adopted $n job(s)" "$work/agent-$n.log" || { echo "agent did not re-adopt $n jobs" >&2; tail "$work/agent-$n.log" >&2; exit 1; }; fi
  sleep 5
  t0=$(ticks "$AGENT_PID") a=${EPOCHREALTIME/./}
  maxrss=0
  for ((s = 0; s < WINDOW; s++)); do
    sleep 1
    r=$(status_kb "$AGENT_PID" VmRSS); [ "$r" -gt "$maxrss" ] && maxrss=$r
  done
  t1=$(ticks "$AGENT_PID") b=${EPOCHREALTIME/./}
  pss=$(awk '/^Pss:/ {print $2}' "/proc/$AGENT_PID/smaps_rollup")
  threads=$(status_kb "$AGENT_PID" Threads)
  cpu=$(awk -v t=$((t1 - t0)) -v hz="$hz" -v us=$((b - a)) 'BEGIN {printf "%.2f", 100 * t / hz / (us / 1e6)}')
  per=$(awk -v c="$cpu" -v n="$n" 'BEGIN {if (n > 0) printf "%.3f ms", 10 * c / n; else print "-"}')
  # The agent really supervises them: end the workloads, and all N results must reach the master.
  if [ "$n" -gt 0 ]; then
    for ((i = 0; i < n; i++)); do read -r pid _ < "$state/jobs/f$n-$i.a1/workload.pid"; kill -TERM "$pid"; done
    wait_until 120 all_reported "$node" "$n" || true
    got=$(terminal_count "$node")
    [ "$got" = "$n" ] || { echo "only $got of $n results reached the master from the agent" >&2; exit 1; }
  fi
  printf '%-6s %-10s %-10s %-8s %-22s %s\n' "$n" "$(awk -v k="$maxrss" 'BEGIN {printf "%.1f", k / 1024}')" \
    "$(awk -v k="$pss" 'BEGIN {printf "%.1f", k / 1024}')" "$threads" "$cpu" "$per" | tee -a "$out"
  stop_pid "$AGENT_PID" 10
  AGENT_PID=""
done
echo "RSS: the largest VmRSS seen in the window; PSS at its end. CPU per job: ms of agent CPU per supervised job per second." | tee -a "$out"
