# shellcheck shell=bash
# Shared by scripts/chaos/ and scripts/bench/ (sourced, not run): the binaries, a private
# state dir and cgroup parent, a real ffrtmp-master, and a clean-up that removes every
# process, cgroup and file the caller started. Nothing here kills anything by name: only
# pids the caller recorded, and processes inside the caller's own private cgroup parent.
#
# The caller sets `repo` (the checkout root) before sourcing.

BIN=${FFRTMP_BIN_DIR:-$repo/.build/debug}
V1_CONTROLLERS=(cpu cpuacct memory blkio pids freezer)

harness_require() {
  [ "$(id -u)" = 0 ] || { echo "needs root (real cgroupfs, tmpfs mounts)" >&2; exit 1; }
  local b
  for b in "$BIN/ffrtmp" "$BIN/ffrtmp-master" "$BIN/ffrtmp-testload"; do
    [ -x "$b" ] || { echo "missing $b: build first (swift build && scripts/build-shim.sh) or set FFRTMP_BIN_DIR" >&2; exit 1; }
  done
  local t
  for t in "$@"; do command -v "$t" >/dev/null || { echo "missing $t (scripts/install-deps.sh test)" >&2; exit 1; }; done
}

# A key for the master, kept out of argv: the master reads it from its environment, curl from a
# header file (-H @FILE), the agent from FFRTMP_API_KEY_FILE.
harness_key() {  # DIR
  local dir=$1
  (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$dir/api.key")
  printf 'Authorization: Bearer %s\n' "$(cat "$dir/api.key")" > "$dir/auth.hdr"
  chmod 600 "$dir/auth.hdr"
}

# A node key for NODE in the master's store DB (`ffrtmp-master nodes add`), in DIR/node.key (0600):
# what an agent sends (FFRTMP_API_KEY_FILE). The admin key in api.key may not call the node routes
# unless the master runs with --allow-shared-node-key (HARNESS_SHARED_NODE_KEY=1, the benches).
harness_node_key() {  # DIR NODE DB
  (umask 077; "$BIN/ffrtmp-master" nodes add "$2" --db "$3" > "$1/node.key" 2>>"$1/master.log") \
    || { echo "ffrtmp-master nodes add $2 failed; see $1/master.log" >&2; return 1; }
}

# First port in [LO, HI] nobody listens on (a connect to it is refused).
free_port() {  # LO HI
  local p
  for ((p = $1; p <= $2; p++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  echo "no free port in $1-$2" >&2
  return 1
}

# Starts ffrtmp-master in the background; sets MASTER_PID. Waits until /health answers.
# HARNESS_SHARED_NODE_KEY=1: the admin key may also call the node routes (--allow-shared-node-key).
# MASTER_EXTRA_ARGS: more flags, split on blanks (e.g. "--dispatch-lease 3").
master_start() {  # DIR PORT DB [LOG]
  local dir=$1 port=$2 db=$3 log=${4:-$1/master.log}
  FFRTMP_API_KEY=$(cat "$dir/api.key") "${MASTER_BIN:-$BIN/ffrtmp-master}" --listen "127.0.0.1:$port" --db "$db" \
    ${HARNESS_SHARED_NODE_KEY:+--allow-shared-node-key} ${MASTER_EXTRA_ARGS:-} >>"$log" 2>&1 &
  MASTER_PID=$!
  MASTER_URL=http://127.0.0.1:$port
  local i
  for ((i = 0; i < 200; i++)); do
    curl -sf "$MASTER_URL/health" >/dev/null 2>&1 && return 0
    kill -0 "$MASTER_PID" 2>/dev/null || { echo "ffrtmp-master exited at start; see $log" >&2; return 1; }
    sleep 0.1
  done
  echo "ffrtmp-master not healthy after 20 s; see $log" >&2
  return 1
}

# The master's API: api METHOD PATH [BODY] -> body on stdout; API_STATUS holds the HTTP status.
# shellcheck disable=SC2034  # API_STATUS is read by the callers
api() {
  local method=$1 path=$2 body=${3:-} out
  if [ -n "$body" ]; then
    out=$(curl -s -m 10 -w '\n%{http_code}' -X "$method" -H @"$AUTH_HDR" -H 'Content-Type: application/json' --data-binary "$body" "$MASTER_URL$path") || { API_STATUS=000; return 1; }
  else
    out=$(curl -s -m 10 -w '\n%{http_code}' -X "$method" -H @"$AUTH_HDR" "$MASTER_URL$path") || { API_STATUS=000; return 1; }
  fi
  API_STATUS=${out##*$'\n'}
  printf '%s' "${out%$'\n'*}"
}

# Polls CMD... every 0.2 s until it succeeds or SEC seconds pass.
wait_until() {  # SEC CMD...
  local deadline=$((${EPOCHREALTIME/./} + $1 * 1000000))
  shift
  until "$@"; do
    ((${EPOCHREALTIME/./} < deadline)) || return 1
    sleep 0.2
  done
}

# Stops a pid we started (TERM, then KILL after SEC), and reaps it when it is our child.
stop_pid() {  # PID [SEC]
  local pid=$1 sec=${2:-5} i
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < sec * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  return 0
}

# Every pid in the cgroups under a private parent (all of them ours: the parent is private).
cgroup_pids() {  # PARENT
  local c
  for c in "${V1_CONTROLLERS[@]}"; do
    if [ -d "/sys/fs/cgroup/$c/${1#/}" ]; then find "/sys/fs/cgroup/$c/${1#/}" -name cgroup.procs -exec cat {} + 2>/dev/null || true; fi
  done | sort -un
}

freeze_all() {  # PARENT FROZEN|THAWED: every v1 freezer cgroup below the parent
  local d
  while IFS= read -r d; do echo "$2" 2>/dev/null > "$d/freezer.state" || true; done \
    < <(find "/sys/fs/cgroup/freezer/$1" -mindepth 1 -type d 2>/dev/null)
}

# Kills whatever still lives in a private cgroup parent (freeze, KILL, thaw: forkers cannot race
# it), then removes the parent's cgroups in every v1 hierarchy.
cgroup_cleanup() {  # PARENT
  local parent=${1#/} c d pids i
  [ -n "$parent" ] || return 0
  for ((i = 0; i < 50; i++)); do
    pids=$(cgroup_pids "$parent")
    [ -z "$pids" ] && break
    freeze_all "$parent" FROZEN
    kill -KILL $pids 2>/dev/null || true
    freeze_all "$parent" THAWED
    sleep 0.1
  done
  for ((i = 0; i < 50; i++)); do
    local left=0
    for c in "${V1_CONTROLLERS[@]}"; do
      d=/sys/fs/cgroup/$c/$parent
      [ -d "$d" ] || continue
      find "$d" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
      rmdir "$d" 2>/dev/null || left=1
    done
    [ $left = 0 ] && return 0
    sleep 0.1
  done
  echo "warning: could not remove cgroup parent /$parent" >&2
}

# Waits (bounded) for the shims of the jobs in a state dir: each exits once its workload is gone.
wait_shims() {  # STATE_DIR
  local f pid i
  for f in "$1"/jobs/*/shim.pid; do
    [ -f "$f" ] || continue
    pid=$(cut -d' ' -f1 "$f" 2>/dev/null || true)
    [ -n "$pid" ] || continue
    for ((i = 0; i < 100; i++)); do [ -d "/proc/$pid" ] || break; sleep 0.05; done
  done
  return 0
}

# Machine facts for result files.
machine_line() {
  local cg=v1-hybrid
  [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && cg=v2
  echo "machine: $(nproc) cores, Linux $(uname -r), cgroup $cg, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, binaries ${BIN#"$repo"/}"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}'; }
