# shellcheck shell=bash
# The helpers of scripts/test_hostile_paths.sh (sourced by it, after its variables are set):
# the master and agent, job submission, the canaries, the attacker, worker.env files.
# shellcheck disable=SC2015  # the "[ A ] && B || { f ...; }" checks, as in the main script


comm_is() { [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }
# The workload a journal's workload.pid ("PID STARTTIME PGID") names runs, and is COMM.
runs_as() { # COMM WORKLOAD_PID_FILE
  local p
  [ -s "$2" ] && p=$(cut -d' ' -f1 "$2") && alive "$p" && comm_is "$p" "$1"
}

# wait_for SECONDS COMMAND...: polls every 0.1 s.
wait_for() {
  local deadline=$(($(date +%s%N) + $1 * 1000000000))
  shift
  until "$@"; do [ "$(date +%s%N)" -lt "$deadline" ] || return 1; sleep 0.1; done
}

job() { api GET "/api/jobs/$1"; }
job_field() { job "$1" | jq -r "$2"; }
summary() { job "$1" | jq -c '{status,failure_reason,platform_sla,platform_sla_reason,error:.result.result.error}'; }
SUBMITTED=()
submit() { # JSON
  local out id
  id=$(jq -r .id <<<"$1")
  out=$(api POST /api/jobs "$1") || { echo "submit of $id failed" >&2; return 1; }
  [ "$(jq -r .status <<<"$out" 2>/dev/null)" = queued ] || { echo "submit of $id refused: $out" >&2; return 1; }
  SUBMITTED+=("$id")
}
sub() { submit "$1" || bail "cannot submit job $(jq -r .id <<<"$1")"; }
# A wrapped ffmpeg job: a 0.5 s 160x120 transcode from INPUT to OUTPUT ("" for none).
# PARAMS is merged over the parameters (a null value removes one), TOP over the job.
jobspec() { # ID INPUT OUTPUT [PARAMS_JSON] [TOP_JSON]
  local p=${4:-} top=${5:-}
  [ -n "$p" ] || p='{}'
  [ -n "$top" ] || top='{}'
  jq -nc --arg id "$1" --arg in "$2" --arg out "$3" --argjson p "$p" --argjson top "$top" \
    '{id: $id, engine: "ffmpeg", wrapper_enabled: true,
      parameters: (({input: $in, resolution: "160x120", fps: 10, duration_seconds: 0.5}
                    + (if $out == "" then {} else {output: $out} end) + $p) | with_entries(select(.value != null)))} + $top'
}
# Every one of IDS has reached a final state at the master.
all_final() { # IDS...
  local ids
  ids=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
  api GET "/api/jobs?limit=1000" | jq -e --argjson ids "$ids" \
    '[.[] | select(.id as $i | any($ids[]; . == $i)) | select(.status | IN("completed", "failed", "timed_out", "canceled", "rejected"))]
     | length == ($ids | length)' >/dev/null 2>&1
}


# Refused by the agent: the master has the job failed as the job's own fault (user_error,
# bad_input, SLA kept) and the error names the offending path (and, if given, the reason).
refused() { # ID PATH [REASON_TEXT]
  local j
  j=$(job "$1") || { f "GET /api/jobs/$1 failed"; return 1; }
  jq -e --arg p "$2" --arg r "${3:-}" '.status == "failed" and .failure_reason == "user_error" and .platform_sla == true
      and .platform_sla_reason == "bad_input"
      and (.result.result.error | type == "string" and contains($p) and contains($r))' <<<"$j" >/dev/null ||
    { f "$1 (path $2${3:+, want \"$3\"}) at the master: $(jq -c '{status,failure_reason,platform_sla,platform_sla_reason,error:.result.result.error}' <<<"$j")"; return 1; }
}
completed() { # ID
  [ "$(job_field "$1" '.status + " " + (.result.metrics.exit_code | tostring)')" = "completed 0" ] ||
    { f "$1 did not complete: $(summary "$1")"; return 1; }
}

# The canaries, byte for byte, and every entry of the outside dir (inode, type, size, mtime,
# mode, owner): a file created there and removed again still changes the dir's mtime. Tests
# 1-10 run side by side, so each checks the canaries and its own targets; the race and the
# state-dir test compare the listing with one taken just before them, test 24 with the first.
canary_sums() { sha256sum "$OUT/canary" "$OUT/secret"; }
outside_listing() { find "$OUT" -printf '%i %y %s %T@ %m %U:%G %p\n' | sort; }
canaries_unchanged() { [ "$(canary_sums)" = "$CANARY0" ] || { f "a canary changed: $(canary_sums | tr '\n' ' ')"; return 1; }; }
outside_unchanged() { # [BASELINE_LISTING]
  local now base=${1:-$LISTING0}
  canaries_unchanged || return 1
  now=$(outside_listing)
  [ "$now" = "$base" ] || { f "$OUT changed: $(diff <(echo "$base") <(echo "$now") | grep '^[<>]' | tr '\n' ' ')"; return 1; }
}
absent() { local p; for p in "$@"; do [ ! -e "$p" ] && [ ! -L "$p" ] || { f "$p exists"; return 1; }; done; }

# The attacker: an unprivileged local user (daemon) who can write the drop dir.
as_attacker() { setpriv --reuid="$DAEMON_UID" --regid="$DAEMON_GID" --clear-groups -- "$@"; }

write_worker_env() { # FILE WRAPPER_ENABLED
  cat > "$1" <<EOF
MASTER_URL=$MASTER_URL
FFRTMP_API_KEY_FILE=$T/node.key
NODE_ID=hostile-$$
MAX_JOBS=8
POLL_INTERVAL=0.1
HEARTBEAT_INTERVAL=0.5
WRAPPER_ENABLED=$2
FFMPEG_PATH=$FFMPEG
FFRTMP_STATE_DIR=$STATE
FFRTMP_CGROUP_PARENT=$PARENT
JOB_USER=nobody
MEDIA_ROOTS=$MEDIA
EOF
  chmod 0644 "$1"
}
# A standalone agent's worker.env (no master): STATE_DIR, then KEY=VALUE lines (later ones win).
standalone_env() { # FILE STATE_DIR [KEY=VALUE...]
  local file=$1 st=$2
  shift 2
  { printf '%s\n' "NODE_ID=hostile-cfg-$$" "POLL_INTERVAL=0.1" "FFRTMP_STATE_DIR=$st" "FFRTMP_CGROUP_PARENT=$PARENT" \
      "JOB_USER=nobody" "MEDIA_ROOTS=$MEDIA" "FFMPEG_PATH=$FFMPEG"
    [ $# = 0 ] || printf '%s\n' "$@"; } > "$file"
  chmod 0644 "$file"
}
agent_status() { "$BIN/ffrtmp" ctl --state-dir "$STATE" '{"op":"status"}' 2>/dev/null; }
agent_registered() { agent_status | jq -e '.registered == true' >/dev/null 2>&1; }

cleanup() {
  local rc=$? d p file l
  set +e
  if [ "$fail" != 0 ] && [ -d "$T" ]; then
    for l in "$T/agent.log" "$T/master.log"; do [ -f "$l" ] && { echo "# --- tail of $(basename "$l")"; tail -n 20 "$l" | sed 's/^/# /'; } >&2; done
  fi
  stop_pid "$SWAP_PID" 2
  [ -n "$UNREL_PID" ] && { kill -KILL "$UNREL_PID" 2>/dev/null; wait "$UNREL_PID" 2>/dev/null; }
  stop_pid "$AGENT_PID" 5
  stop_pid "$MASTER_PID" 5
  # Workloads the journals know (a legacy one is in no cgroup), only while the pid is still theirs.
  for d in "$STATE"/jobs/*/ "$RUNSTATE"/jobs/*/; do
    [ -d "$d" ] && [ ! -L "${d%/}" ] || continue
    for file in workload.pid shim.pid; do
      [ -s "$d/$file" ] && [ ! -L "$d/$file" ] || continue
      p=$(cut -d' ' -f1 "$d/$file")
      [ -n "$p" ] && [ "$(stat_field "$p" 22 2>/dev/null)" = "$(cut -d' ' -f2 "$d/$file")" ] && kill -KILL "$p" 2>/dev/null
    done
  done
  cgroup_cleanup "$PARENT"
  # Named with our pid: only ever ours (test 8 fails if the agent created one).
  rm -f "${SYSTEM_OUTPUTS[@]}"
  rm -rf "$T"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "Bail out! interrupted"; fail=$((fail + 1)); echo "$pass passed, $fail failed"; exit 130' INT TERM

bail() { echo "Bail out! $*"; fail=$((fail + 1)); echo "$pass passed, $fail failed"; exit 1; }
