#!/usr/bin/env bash
# Fleet scale: ffrtmp-fleet-sim's simulated nodes (each with its own node key, through the
# agent's own client) against two ffrtmp-master processes on one PostgreSQL, which this script
# starts on loopback (scripts/pg-test-server.sh). One round per fleet size, each on a database
# of its own: every node registers, heartbeats every HEARTBEAT s, polls every POLL s while it has
# a free slot (claiming up to all of them at once), runs each job JOB_SECONDS and reports it.
# Reports latency per route, dispatch throughput, jobs run exactly once / lost / duplicated, and
# the CPU and memory of each master and of PostgreSQL (with its backends), from /proc.
#
#   scripts/bench/fleet-scale.sh            1,000, 5,000 and 10,000 nodes, FLEET_DURATION (60) s
#                                           each; rewrites the fleet table in docs/BENCHMARKS.md
#   scripts/bench/fleet-scale.sh --quick    2,000 nodes for 30 s (CI: fails on any lost or
#                                           duplicated job, never on a time)
#   scripts/bench/fleet-scale.sh --dispatch  dispatch saturation: FLEET_DISPATCH_NODES (256) nodes
#                                           of 64 slots, 1 s jobs, polling every 0.5 s, against a
#                                           queue deeper than they can drain (FLEET_DISPATCH_JOBS,
#                                           120,000, inserted by SQL) for 30 s, with 1, 2 and 4
#                                           masters (FLEET_DISPATCH_MASTERS): jobs dispatched a
#                                           second, how it scales with masters, and exactly-once
#
# FLEET_COMPARE=DIR runs every round a second time, alternating, with DIR/ffrtmp-master (an
# earlier build: the peer of a before/after measurement), and labels each summary line
# master=this or master=DIR's name. FLEET_COMPARE_FIRST=1 runs DIR's round first (a round's
# database is dropped after it, but run both orders: the second round of a pair has done worse).
# FLEET_MASTER_ARGS and FLEET_SIM_ARGS add flags (e.g. --db-connections 32, --connections 256).
#
# Every round ends with the simulator's summary line, e.g.
#   nodes=2000 masters=2 jobs=4000 lost=0 duplicated=0 p99_heartbeat_ms=… p99_poll_ms=… dispatch_per_s=…
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/scripts/lib/harness.sh"
harness_require curl
SIM=$BIN/ffrtmp-fleet-sim
[ -x "$SIM" ] || { echo "missing $SIM: build first (swift build)" >&2; exit 1; }
quick=0 dispatch=0
[ "${1:-}" = --quick ] && quick=1
[ "${1:-}" = --dispatch ] && dispatch=1
if [ $quick = 1 ]; then SIZES=(2000) DURATION=30; else SIZES=(${FLEET_SIZES:-1000 5000 10000}) DURATION=${FLEET_DURATION:-60}; fi
HEARTBEAT=${FLEET_HEARTBEAT:-10} POLL=${FLEET_POLL:-2} SLOTS=${FLEET_SLOTS:-4} JOB_SECONDS=${FLEET_JOB_SECONDS:-5}
# The masters' --dispatch-lease. A start acknowledged after it is requeued and runs twice (the
# simulator counts it as duplicated, as it should). --quick checks exactly-once under load, not
# this box's speed: CI's debug build answers in seconds at 2,000 nodes, so it gives the lease 120 s.
LEASE=${FLEET_LEASE:-30}
[ $quick = 1 ] && LEASE=${FLEET_LEASE:-120}

work=$(mktemp -d /tmp/ffrtmp-fleet-XXXXXX)
pgdir=$(mktemp -d /tmp/ffrtmp-fleetpg-XXXXXX)  # its own: the server runs as postgres, which cannot enter $work
M1="" M2="" MPIDS=()
cleanup() {
  stop_pid "$M1" 5; stop_pid "$M2" 5
  local p; for p in "${MPIDS[@]}"; do stop_pid "$p" 5; done
  "$repo/scripts/pg-test-server.sh" stop "$pgdir" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
PGPORT=$(free_port 54350 54399)
PG=$("$repo/scripts/pg-test-server.sh" start "$pgdir" "$PGPORT")
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
postmaster=$(head -1 "$pgdir/data/postmaster.pid")
harness_key "$work"
ulimit -n "$(ulimit -Hn)"

results=$work/results.txt
: > "$results"
rc=0

if [ $dispatch = 1 ]; then
  DN=${FLEET_DISPATCH_NODES:-256} DJOBS=${FLEET_DISPATCH_JOBS:-120000} DDUR=${FLEET_DISPATCH_DURATION:-30}
  for m in ${FLEET_DISPATCH_MASTERS:-1 2 4}; do
    db=dispatch$m
    runuser -u postgres -- "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -qc "CREATE DATABASE $db" postgres
    DB=${PG%/postgres}/$db
    (umask 077; "$BIN/ffrtmp-master" nodes add-fleet "d$m" "$DN" --db "$DB" > "$work/keys-d$m" 2>>"$work/master.log")
    # The queue, in bulk (submitting 120,000 jobs through the API is not what this measures).
    runuser -u postgres -- "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -q -d "$db" -c "
      INSERT INTO jobs (id, engine, parameters, status, attempt, cancel_requested, created_ms, updated_ms)
      SELECT 'sat-' || g, 'ffmpeg', '{\"input\":\"testsrc\",\"duration_seconds\":1}', 'queued', 0, false,
             (extract(epoch from now()) * 1000)::bigint + g, (extract(epoch from now()) * 1000)::bigint + g
      FROM generate_series(1, $DJOBS) g; ANALYZE jobs;"
    export MASTER_EXTRA_ARGS="--dispatch-lease $LEASE"
    MPIDS=() args=()
    for ((i = 0; i < m; i++)); do
      p=$(free_port $((18500 + i * 20)) $((18519 + i * 20))); master_start "$work" "$p" "$DB" "$work/master-d$m-$i.log"
      MPIDS+=("$MASTER_PID"); args+=(--master "$MASTER_URL" --watch "master$((i + 1))=$MASTER_PID")
    done
    echo "# dispatch round: $m master(s), $DN nodes x 64 slots, 1 s jobs, poll 0.5 s, $DJOBS jobs queued, ${DDUR} s"
    set +e
    "$SIM" "${args[@]}" --keys "$work/keys-d$m" --admin-key-file "$work/api.key" --nodes "$DN" --heartbeat 10 --poll 0.5 \
      --slots 64 --job-seconds 1 --prequeued "$DJOBS" --duration "$DDUR" --prefix "d$m" --watch "postgres=$postmaster" | tee "$work/sim-d$m.txt"
    src=${PIPESTATUS[0]}
    set -e
    [ "$src" = 0 ] || { echo "# dispatch round, $m master(s): the simulator failed (exit $src)"; rc=1; }
    tail -1 "$work/sim-d$m.txt" >> "$results"
    for p in "${MPIDS[@]}"; do stop_pid "$p" 10; done
    MPIDS=()
    runuser -u postgres -- "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -qc "DROP DATABASE $db" -c CHECKPOINT postgres
  done
  echo "# $(machine_line)"
  cat "$results"
  mkdir -p "$repo/docs/bench"
  { echo "fleet-scale --dispatch: $(date -u +%FT%TZ) $(machine_line)"
    for m in ${FLEET_DISPATCH_MASTERS:-1 2 4}; do echo; cat "$work/sim-d$m.txt"; done
    echo; echo "summary:"; cat "$results"; } > "$repo/docs/bench/fleet-dispatch.txt"
  exit $rc
fi
variants=(this)
[ -n "${FLEET_COMPARE:-}" ] && { [ -x "$FLEET_COMPARE/ffrtmp-master" ] || { echo "FLEET_COMPARE=$FLEET_COMPARE has no ffrtmp-master" >&2; exit 1; }; variants+=("$FLEET_COMPARE"); }
[ "${FLEET_COMPARE_FIRST:-0}" = 1 ] && [ ${#variants[@]} = 2 ] && variants=("${variants[1]}" this)
rounds=()
for n in "${SIZES[@]}"; do for v in "${variants[@]}"; do rounds+=("$n:$v"); done; done
for round in "${rounds[@]}"; do
  n=${round%%:*} variant=${round#*:}
  if [ "$variant" = this ]; then MASTER_BIN=$BIN/ffrtmp-master label=this; else MASTER_BIN=$variant/ffrtmp-master label=$(basename "$variant"); fi
  export MASTER_BIN
  tag=$n${FLEET_COMPARE:+-$label}
  db=fleet${n}_${label//[^a-z0-9]/_}
  runuser -u postgres -- "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -qc "CREATE DATABASE $db" postgres
  DB=${PG%/postgres}/$db
  (umask 077; "$MASTER_BIN" nodes add-fleet "n$n" "$n" --db "$DB" > "$work/keys-$n" 2>>"$work/master.log")
  export MASTER_EXTRA_ARGS="--dispatch-lease $LEASE ${FLEET_MASTER_ARGS:-}"
  p1=$(free_port 18500 18549); master_start "$work" "$p1" "$DB" "$work/master1-$n.log"; M1=$MASTER_PID U1=$MASTER_URL
  p2=$(free_port 18550 18599); master_start "$work" "$p2" "$DB" "$work/master2-$n.log"; M2=$MASTER_PID U2=$MASTER_URL
  # Two jobs per node (--quick: one, so that queueing them stays short in CI).
  jobs=${FLEET_JOBS:-$((n * 2))}
  [ $quick = 1 ] && jobs=${FLEET_JOBS:-$n}
  echo "# round: $n nodes, $jobs jobs, ${DURATION} s, 2 masters ($MASTER_BIN) on PostgreSQL ($DB), dispatch lease ${LEASE} s"
  # FLEET_PROFILE=1: perf samples the whole box for 20 s of the last (largest) round, from 15 s
  # in: which processes (masters, PostgreSQL's backends, the simulator) and code take the cores.
  prof=""
  if [ "${FLEET_PROFILE:-0}" = 1 ] && [ "$n" = "${SIZES[-1]}" ] && [ "$label" = this ] && command -v perf >/dev/null; then
    (sleep 15; perf record -q -a -F 99 -g -o "$work/perf.data" -- sleep 20 >/dev/null 2>&1) &
    prof=$!
  fi
  set +e
  "$SIM" --master "$U1" --master "$U2" --keys "$work/keys-$n" --admin-key-file "$work/api.key" --nodes "$n" \
    --heartbeat "$HEARTBEAT" --poll "$POLL" --slots "$SLOTS" --job-seconds "$JOB_SECONDS" --jobs "$jobs" --duration "$DURATION" \
    --prefix "r$n" --watch "master1=$M1" --watch "master2=$M2" --watch "postgres=$postmaster" ${FLEET_SIM_ARGS:-} | tee "$work/sim-$tag.txt"
  src=${PIPESTATUS[0]}
  set -e
  [ "$src" = 0 ] || { echo "# round $n nodes ($label): the simulator failed (exit $src)"; rc=1; }
  if [ -n "$prof" ]; then
    wait "$prof"
    mkdir -p "$repo/docs/bench"
    # (Whole reports are read, then cut: `head` on a pipe under pipefail would end the script.)
    perf report -i "$work/perf.data" --no-children --sort comm,symbol --stdio > "$work/perf-sym.txt" 2>/dev/null || true
    perf report -i "$work/perf.data" --no-children --sort comm,dso --stdio > "$work/perf-dso.txt" 2>/dev/null || true
    { echo "fleet-scale profile: the whole box during the $n-node round, perf record -a -F 99 -g, 20 s ($(machine_line))"
      echo "by process and shared object:"
      awk '/^ +[0-9.]+%/ && n < 16 { sub(/ +$/, ""); print; n++ }' "$work/perf-dso.txt"
      echo; echo "by process and symbol:"
      awk '/^ +[0-9.]+%/ && n < 30 { sub(/ +-? +-? *$/, ""); print substr($0, 1, 160); n++ }' "$work/perf-sym.txt"
    } > "$repo/docs/bench/fleet-scale-profile.txt"
  fi
  echo "$(tail -1 "$work/sim-$tag.txt")${FLEET_COMPARE:+ master=$label}" >> "$results"
  cp "$work/sim-$tag.txt" "$work/keep-$tag.txt"
  stop_pid "$M1" 10; stop_pid "$M2" 10; M1="" M2=""
  # The next round starts on a server without this round's database (and its dirty pages).
  runuser -u postgres -- "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -qc "DROP DATABASE $db" -c CHECKPOINT postgres
done
echo "# $(machine_line)"
cat "$results"
# A full run always keeps its numbers: a round that lost or duplicated jobs is a finding too.
if [ $quick = 0 ]; then
  mkdir -p "$repo/docs/bench"
  { echo "fleet-scale: $(date -u +%FT%TZ) $(machine_line)"; echo "heartbeat ${HEARTBEAT} s, poll ${POLL} s, ${SLOTS} slots, jobs ${JOB_SECONDS} s, ${DURATION} s per round, 2 masters on one PostgreSQL"
    for round in "${rounds[@]}"; do n=${round%%:*} v=${round#*:}; [ "$v" = this ] && l=this || l=$(basename "$v")
      echo; [ -n "${FLEET_COMPARE:-}" ] && echo "## master: $l"; cat "$work/keep-$n${FLEET_COMPARE:+-$l}.txt"; done
    echo; echo "summary:"; cat "$results"; } > "$repo/docs/bench/fleet-scale.txt"
fi
exit $rc
