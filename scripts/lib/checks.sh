# shellcheck shell=bash
# Shared by the behavioural suites (test_wrapper_integration.sh, test_hostile_paths.sh; sourced,
# not run): numbered checks printing "ok N - name" / "not ok N - name: reason", the agent
# settings a suite must clear so only its own worker.env counts, and /proc/PID/stat fields.

# Every worker.env key: the environment would override the file a suite writes.
clear_agent_env() {
  unset MASTER_URL FFRTMP_API_KEY FFRTMP_API_KEY_FILE NODE_ID MAX_JOBS HEARTBEAT_INTERVAL POLL_INTERVAL METRICS_PORT \
    WRAPPER_ENABLED WRAPPER_DEFAULT_CPU_MAX WRAPPER_DEFAULT_CPU_WEIGHT WRAPPER_DEFAULT_MEMORY_MAX_MB WRAPPER_DEFAULT_MEMORY_SWAP_MAX_MB WRAPPER_DEFAULT_IO_MAX \
    WRAPPER_DEFAULT_MAX_OUTPUT_MB FFMPEG_PATH GST_LAUNCH_PATH FFRTMP_STATE_DIR FFRTMP_CGROUP_PARENT FFRTMP_CGROUP_DRIVER \
    FFRTMP_CGROUP_ROOT FFRTMP_SHIM AUTO_ATTACH AUTO_ATTACH_TARGETS AUTO_ATTACH_MIN_AGE AUTO_ATTACH_INTERVAL AUTO_ATTACH_FROM \
    AUTO_ATTACH_USERS AUTO_ATTACH_DRY_RUN METRICS_LISTEN JOB_USER MEDIA_ROOTS \
    ALLOWED_INPUT_HOSTS ALLOWED_OUTPUT_HOSTS
}

pass=0 fail=0
REASON=""
# A check's reason for failing: `f TEXT` always returns 1.
f() { REASON="$*"; return 1; }
t() { # NUMBER NAME FUNCTION
  REASON=""
  if "$3"; then pass=$((pass + 1)); echo "ok $1 - $2"
  else fail=$((fail + 1)); echo "not ok $1 - $2: ${REASON:-failed}"; fi
}

# Field N of /proc/PID/stat (proc(5) numbering: 3 state, 4 ppid, 5 pgid, 22 start time), read
# after the "(comm)" field, which may hold spaces.
stat_field() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; s=${s##*) }; awk -v f="$2" '{ print $(f - 2) }' <<<"$s"; }
# Running (a zombie is not).
alive() { local st; [ -n "$1" ] && st=$(stat_field "$1" 3) && [ -n "$st" ] && [ "$st" != Z ]; }
gone() { ! alive "$1"; }
