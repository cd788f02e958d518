#!/usr/bin/env bash
# Dispatch throughput of ffrtmp-master: jobs handed out per second by GET /api/jobs/next with
# 1, 4 and 16 concurrent pollers (each its own registered node), on SQLite and on PostgreSQL.
#
# Pollers: one curl process each, fetching its share of the queue over one keep-alive
# connection (a curl config with one url per request), so no process is forked per request;
# their CPU time is printed next to the master's to show which side is the bottleneck. Each
# round queues JOBS jobs first (also over one keep-alive connection, timed as "create"), then
# starts the pollers together; it checks that exactly JOBS were handed out (all 200), that the
# queue is then empty (204), i.e. no job went out twice.
#
#   scripts/bench/master-dispatch.sh [JOBS] [ROUNDS]   (root for PostgreSQL; default 1200 3;
#                                                       writes docs/bench/master-dispatch.txt)
# PostgreSQL: scripts/pg-test-server.sh on 127.0.0.1:54339 (fsync off, as in the tests);
# SQLite: the embedded default (WAL). BENCH_PORT_LO/HI: the master's port range (18400-18499).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/scripts/lib/harness.sh"
harness_require curl jq
JOBS=${1:-1200}
ROUNDS=${2:-3}
POLLERS=(1 4 16)
for p in "${POLLERS[@]}"; do ((JOBS % p == 0)) || { echo "JOBS must be divisible by ${POLLERS[*]}" >&2; exit 2; }; done

work=$(mktemp -d /tmp/ffrtmp-bench-dispatch-XXXXXX)
AUTH_HDR=$work/auth.hdr
MASTER_PID="" pgdir=""
cleanup() {
  stop_pid "$MASTER_PID" 5
  [ -n "$pgdir" ] && "$repo/scripts/pg-test-server.sh" stop "$pgdir"
  rm -rf "$work"
}
trap cleanup EXIT
harness_key "$work"
PORT=$(free_port "${BENCH_PORT_LO:-18400}" "${BENCH_PORT_HI:-18499}")

# curl configs (mode 600: they carry the key, which never goes on a command line).
curl_conf() {  # FILE COUNT URL [DATA]
  (umask 077
   { printf 'header = "%s"\n' "$(cat "$AUTH_HDR")"
     printf 'write-out = "%%{http_code}\\n"\n'
     if [ -n "${4:-}" ]; then printf 'header = "Content-Type: application/json"\n'; printf 'data = "%s"\n' "${4//\"/\\\"}"; fi
     for ((k = 0; k < $2; k++)); do printf 'url = "%s"\noutput = "/dev/null"\n' "$3"; done
   } > "$1")
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

out=$repo/docs/bench/master-dispatch.txt
mkdir -p "$repo/docs/bench"
{
  echo "master-dispatch: $(date -u +%FT%TZ), $JOBS jobs per round, $ROUNDS rounds per cell (median), pollers: curl over keep-alive"
  machine_line
  printf '%-10s %-8s %-14s %-14s %-22s %s\n' store pollers "dispatch/s" "create/s" "master CPU (s/round)" "pollers' CPU (s/round)"
} | tee "$out"

bench_store() {  # LABEL DB
  local label=$1 db=$2 p r
  # The bench polls as many nodes with the admin key: a migration-mode master.
  HARNESS_SHARED_NODE_KEY=1 master_start "$work" "$PORT" "$db" "$work/master-$label.log"
  for ((k = 0; k < 16; k++)); do
    api POST /api/nodes/register "{\"node_id\":\"bench-$k\",\"hostname\":\"bench-$k\",\"wrapper_enabled\":true}" >/dev/null
    [ "$API_STATUS" = 200 ] || { echo "register bench-$k: HTTP $API_STATUS" >&2; exit 1; }
  done
  curl_conf "$work/create.conf" "$JOBS" "$MASTER_URL/api/jobs" '{"engine":"ffmpeg","parameters":{"input":"testsrc","duration_seconds":10},"wrapper_enabled":true}'
  for p in "${POLLERS[@]}"; do
    for ((k = 0; k < p; k++)); do curl_conf "$work/poll-$p-$k.conf" $((JOBS / p)) "$MASTER_URL/api/jobs/next?node_id=bench-$k"; done
    local rates=() creates=() mcpu=() ccpu=()
    for ((r = 0; r < ROUNDS; r++)); do
      local a b c0 c1 codes
      a=${EPOCHREALTIME/./}
      codes=$(curl -s -K "$work/create.conf" | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
      b=${EPOCHREALTIME/./}
      [ "$codes" = "201:$JOBS " ] || { echo "create: got $codes" >&2; exit 1; }
      creates+=("$(awk -v n="$JOBS" -v us=$((b - a)) 'BEGIN {printf "%.0f", n / (us / 1e6)}')")
      c0=$(cpu_ticks "$MASTER_PID")
      a=${EPOCHREALTIME/./}
      # All pollers in one subshell: `times` then gives their CPU (children's user + sys).
      # (`times` must not run in a pipeline: a forked pipeline member has no children to count.)
      ( for ((k = 0; k < p; k++)); do curl -s -K "$work/poll-$p-$k.conf" > "$work/codes-$k" & done; wait; times > "$work/times" )
      b=${EPOCHREALTIME/./}
      c1=$(cpu_ticks "$MASTER_PID")
      codes=$(cat "$work"/codes-* | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
      rm -f "$work"/codes-*
      [ "$codes" = "200:$JOBS " ] || { echo "dispatch with $p pollers: got $codes, want 200:$JOBS" >&2; exit 1; }
      api GET "/api/jobs/next?node_id=bench-0" >/dev/null
      [ "$API_STATUS" = 204 ] || { echo "queue not empty after $JOBS dispatches (HTTP $API_STATUS): a job went out twice" >&2; exit 1; }
      rates+=("$(awk -v n="$JOBS" -v us=$((b - a)) 'BEGIN {printf "%.0f", n / (us / 1e6)}')")
      mcpu+=("$(awk -v t=$((c1 - c0)) -v hz="$hz" 'BEGIN {printf "%.2f", t / hz}')")
      ccpu+=("$(tail -1 "$work/times" | awk '{gsub(/[ms]/, " "); printf "%.2f", $1 * 60 + $2 + $3 * 60 + $4}')")
    done
    printf '%-10s %-8s %-14s %-14s %-22s %s\n' "$label" "$p" "$(printf '%s\n' "${rates[@]}" | median)" \
      "$(printf '%s\n' "${creates[@]}" | median)" "$(printf '%s\n' "${mcpu[@]}" | median)" "$(printf '%s\n' "${ccpu[@]}" | median)" | tee -a "$out"
    echo "           rounds: ${rates[*]} jobs/s" >> "$out"
  done
  stop_pid "$MASTER_PID" 10
  MASTER_PID=""
}

bench_store sqlite "sqlite:$work/master.db"
pgdir=$(mktemp -d /tmp/ffrtmp-bench-pg-XXXXXX)
pgurl=$("$repo/scripts/pg-test-server.sh" start "$pgdir" 54339)
bench_store postgres "$pgurl"
echo "create/s: POST /api/jobs over one connection (one client), for scale." | tee -a "$out"
