#!/usr/bin/env bash
# A second cgroup v2 suite, run INSIDE the VM that scripts/v2/run.sh boots (virtme-ng: the host's
# root filesystem read-only, cgroup2 at /sys/fs/cgroup, no systemd, this script in 0::/).
# It governs real jobs with the v2 driver and measures each outcome from outside ffrtmp:
# /proc/PID/stat, /proc/PID/cgroup, the job's cgroup files, /sys/block, dmesg, the master's API,
# the console's screen through tmux.
#
# Environment (set by run.sh): V2_BIN (the binaries), V2_REPO (the checkout), V2_RW (the
# --rwdir: the only directory that comes back to the host), V2_IO_DEV (a scratch virtio disk
# for io.max, default /dev/vda), V2_SWAP_DEV (a second one for swap, default /dev/vdb).
#
# Writes V2_RW/results.txt: "ok N - name", "not ok N - name: reason", "# measure lines", a
# "# KNOWN BUG" mark on checks of product bugs (counted neither way) and, last,
# "# suite finished: P passed, F failed, K known bugs, S s". V2_RW/suite.log has the details,
# V2_RW/console-v2.txt the console's screen. Timing tolerances are wide and based on ratios
# measured in this same VM run: the CPU is emulated (TCG), several times slower than the host.
set -uo pipefail
: "${V2_BIN:?}" "${V2_REPO:?}" "${V2_RW:?}"
BIN=$V2_BIN REPO=$V2_REPO RW=$V2_RW
IO_DEV=${V2_IO_DEV:-/dev/vda} SWAP_DEV=${V2_SWAP_DEV:-/dev/vdb}
RESULTS=$RW/results.txt
# python3 on the host's PATH may be a pyenv shim; the suite uses the system's tools only.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C
exec > "$RW/suite.log" 2>&1
: > "$RESULTS"
suite_t0=$SECONDS

W=/run/ffrtmp-v2
STATE=$W/state T=$W/t
PARENT=/ffrtmp-v2test
HOME_CG=/sys/fs/cgroup/v2test-home   # the adopted ffmpeg's own cgroup before the attach
. "$REPO/scripts/v2/lib.sh"

MASTER_PID="" AGENT_PID="" TMUX_SOCK=ffv2-$$
cleanup() {
  set +e
  tmux -L "$TMUX_SOCK" kill-server 2>/dev/null
  [ -n "$AGENT_PID" ] && kill -TERM "$AGENT_PID" 2>/dev/null && wait_for 10 gone "$AGENT_PID"
  # Live journal jobs end through ffrtmp itself; then anything left under the parent.
  local d j
  for d in "$STATE"/jobs/*/; do
    [ -d "$d" ] || continue; j=$(basename "$d")
    [ -s "$d/exit.json" ] || "$FF" kill "$j" --grace 1 >/dev/null 2>&1
  done
  kill_ours
  cgroup_teardown
  rmdir "$HOME_CG" 2>/dev/null
  swapoff "$SWAP_DEV" 2>/dev/null
  cp "$T"/*.log "$RW/" 2>/dev/null
  umount "$W" 2>/dev/null
}
trap cleanup EXIT

# ---------------------------------------------------------------- set-up
note "v2 suite: Linux $(uname -r), $(nproc) vCPUs, $(awk '/MemTotal/ {printf "%d MiB", $2/1024}' /proc/meminfo), binaries $BIN, driver ${V2_DRIVER:-v2}"
note "guest uptime at suite start: $(cut -d' ' -f1 /proc/uptime) s"
ip link set lo up
mkdir -p "$W" && mount -t tmpfs -o size=256m,mode=755 ffrtmp-v2 "$W"
mkdir -m 755 "$STATE" "$T"
clear_agent_env
# V2_DRIVER=none is the negative control: without cgroups the limit, placement, kill and
# clean-up checks must fail (run.sh passes it through).
DRIVER=${V2_DRIVER:-v2}
export FFRTMP_STATE_DIR=$STATE FFRTMP_CGROUP_PARENT=$PARENT FFRTMP_CGROUP_DRIVER=$DRIVER
export FFRTMP_CONSOLE=$BIN/ffrtmp-console
IO_MAJMIN=$(cat "/sys/block/${IO_DEV#/dev/}/dev")
# The swap disk is made ready but left off: a swap check (memory.swap.max) turns it on with
# swap_on. Not on by default: with swap, memory limits are a different test.
mkswap -f "$SWAP_DEV" >/dev/null && V2_SWAP_READY=1 || V2_SWAP_READY=0
export V2_SWAP_READY SWAP_DEV
swap_on() { swapon "$SWAP_DEV"; }
swap_off() { swapoff "$SWAP_DEV"; }
# The first process start after boot is slow: pay it here, not inside a measurement.
"$FF" ps --json >/dev/null 2>&1; "$BIN/ffrtmp-testload" exit 0; ffmpeg -version >/dev/null 2>&1
note "set-up done at guest uptime $(cut -d' ' -f1 /proc/uptime) s"

t_env() {
  [ "$(stat -fc %T "$CG")" = cgroup2fs ] || { f "$CG is $(stat -fc %T "$CG"), not cgroup2"; return; }
  local c; for c in cpu memory io pids; do
    grep -qw "$c" "$CG/cgroup.controllers" || { f "controller $c missing: $(cat "$CG/cgroup.controllers")"; return; }
  done
  [ "$(cg_of $$)" = / ] || { f "the suite runs in $(cg_of $$), not the root cgroup"; return; }
  [ -b "$IO_DEV" ] || { f "no block device $IO_DEV for io.max"; return; }
}
check "a cgroup v2 host: cgroup2 with cpu memory io pids, suite in 0::/, scratch disk $IO_DEV ($IO_MAJMIN)" t_env

# ---------------------------------------------------------------- CPU: cpu.max, cpu.weight
# Side by side: cpu20 alone on vCPU 1 under a 20% quota; w100 and w400 share vCPU 0 (taskset
# execs, so the pinned spinner is the workload itself); lim holds 32 MiB under every limit kind.
SPIN=$BIN/ffrtmp-testload
"$FF" run --detach --job-id cpu20 --cpu-max "20000 100000" -- taskset -c 1 "$SPIN" spin 120 >/dev/null
"$FF" run --detach --job-id w100 --cpu-weight 100 -- taskset -c 0 "$SPIN" spin 120 >/dev/null
"$FF" run --detach --job-id w400 --cpu-weight 400 -- taskset -c 0 "$SPIN" spin 120 >/dev/null
"$FF" run --detach --job-id lim --cpu-max "50000 100000" --memory-max-mb 96 --pids-max 20 \
  --io-max "$IO_MAJMIN wbps=1048576 riops=500" -- "$SPIN" alloc 32 120 >/dev/null
cpu_jobs_up() { local j; for j in cpu20 w100 w400 lim; do job_running "$j" ffrtmp-testload || return 1; done; }
wait_for 30 cpu_jobs_up || note "not every CPU job runs after 30 s: $(ls "$STATE/jobs")"

t_cpu_files() {
  local j
  for j in cpu20 w100 w400; do
    grep -qx "$(wpid $j)" "$(jobcg $j)/cgroup.procs" 2>/dev/null || { f "$j's workload $(wpid $j) is not in $(jobcg $j)/cgroup.procs"; return; }
  done
  [ "$(cat "$(jobcg cpu20)/cpu.max")" = "20000 100000" ] || { f "cpu20 cpu.max is '$(cat "$(jobcg cpu20)/cpu.max")'"; return; }
  [ "$(cat "$(jobcg w100)/cpu.weight")" = 100 ] || { f "w100 cpu.weight is '$(cat "$(jobcg w100)/cpu.weight")'"; return; }
  [ "$(cat "$(jobcg w400)/cpu.weight")" = 400 ] || { f "w400 cpu.weight is '$(cat "$(jobcg w400)/cpu.weight")'"; return; }
}
check "cpu.max and cpu.weight are in the running jobs' cgroup files, the workloads in cgroup.procs" t_cpu_files

t_lim_files() {
  local d; d=$(jobcg lim)
  job_running lim ffrtmp-testload || { f "the lim job does not run"; return; }
  grep -qx "$(wpid lim)" "$d/cgroup.procs" || { f "lim's workload is not in $d/cgroup.procs"; return; }
  [ "$(cat "$d/cpu.max")" = "50000 100000" ] || { f "cpu.max is '$(cat "$d/cpu.max")'"; return; }
  [ "$(cat "$d/memory.max")" = $((96 * 1048576)) ] || { f "memory.max is '$(cat "$d/memory.max")', not $((96 * 1048576))"; return; }
  [ "$(cat "$d/pids.max")" = 20 ] || { f "pids.max is '$(cat "$d/pids.max")'"; return; }
  [ "$(cat "$d/io.max")" = "$IO_MAJMIN rbps=max wbps=1048576 riops=500 wiops=max" ] || { f "io.max is '$(cat "$d/io.max")'"; return; }
}
check "memory.max, pids.max, io.max and cpu.max are in a running job's cgroup files" t_lim_files

# Steady state: 2 s past the start, then 6 s of the workloads' own CPU time (utime+stime).
sleep 2
P20=$(wpid cpu20) P100=$(wpid w100) P400=$(wpid w400)
a20=$(cpu_ticks "$P20") a100=$(cpu_ticks "$P100") a400=$(cpu_ticks "$P400") ta=$(now_us)
th_a=$(cg_key "$(jobcg cpu20)/cpu.stat" nr_throttled)
sleep 6
b20=$(cpu_ticks "$P20") b100=$(cpu_ticks "$P100") b400=$(cpu_ticks "$P400") tb=$(now_us)
th_b=$(cg_key "$(jobcg cpu20)/cpu.stat" nr_throttled)
wall_s=$(calc "($tb - $ta) / 1000000")
CPU20_PCT=$(calc "(${b20:-0} - ${a20:-0}) / $CLK_TCK / $wall_s * 100")
W100_S=$(calc "(${b100:-0} - ${a100:-0}) / $CLK_TCK") W400_S=$(calc "(${b400:-0} - ${a400:-0}) / $CLK_TCK")
WEIGHT_RATIO=$(calc "$W400_S / ($W100_S > 0 ? $W100_S : 0.001)")
note "measure: cpu.max 20000/100000 -> ${CPU20_PCT}% of one vCPU over ${wall_s} s wall (throttled $th_a -> $th_b)"
note "measure: cpu.weight 400:100 on one vCPU -> ${W400_S} s : ${W100_S} s of CPU = ${WEIGHT_RATIO}:1"

t_cpu_max() {
  [ -n "$a20" ] && [ -n "$b20" ] && alive "$P20" || { f "cpu20's workload ($P20) did not run through the measurement"; return; }
  calc_ok "$CPU20_PCT >= 12 && $CPU20_PCT <= 30" || { f "the workload used ${CPU20_PCT}% of a CPU, expected 12-30% (20% quota)"; return; }
  [ "${th_b:-0}" -gt "${th_a:-0}" ] || { f "cpu.stat nr_throttled did not grow ($th_a -> $th_b): the spinner was never throttled"; return; }
}
check "cpu.max 20000 100000 holds a spinner at ~20% of a CPU (its own utime+stime over wall time)" t_cpu_max

t_weight() {
  alive "$P100" && alive "$P400" || { f "a weighted spinner did not run through the measurement"; return; }
  calc_ok "$W100_S + $W400_S > 0.5 * $wall_s" || { f "the two spinners got only ${W100_S}+${W400_S} s of one vCPU in ${wall_s} s"; return; }
  calc_ok "$WEIGHT_RATIO >= 2.8 && $WEIGHT_RATIO <= 5.5" || { f "CPU ratio w400:w100 is ${WEIGHT_RATIO}:1, expected ~4 (2.8-5.5)"; return; }
}
check "cpu.weight 400 vs 100 on one shared vCPU splits CPU time ~4:1" t_weight

# ps --json against cgroupfs: memory.current read just before and just after.
m0=$(cat "$(jobcg lim)/memory.current" 2>/dev/null)
ps_json 1
m1=$(cat "$(jobcg lim)/memory.current" 2>/dev/null)
t_ps_cpu() {
  local e; e=$(ps_job cpu20)
  [ -n "$e" ] || { f "cpu20 is not in ps --json: $(head -c 300 <<<"$PS_JSON")"; return; }
  jq -e '.state == "running" and .usage.cpu_limit_percent == 20 and .usage.cpu_percent > 5 and .usage.cpu_percent < 40' <<<"$e" >/dev/null ||
    { f "ps --json for cpu20: $(jq -c '{state,usage}' <<<"$e") (expected cpu_percent 5-40, limit 20)"; return; }
  note "measure: ps --json says cpu20 uses $(jq -r .usage.cpu_percent <<<"$e")% (limit $(jq -r .usage.cpu_limit_percent <<<"$e")%)"
}
check "ps --json shows a running job's CPU% (non-zero, near its 20% quota) and its limit" t_ps_cpu
t_ps_mem() {
  local e cur; e=$(ps_job lim)
  [ -n "$e" ] || { f "lim is not in ps --json"; return; }
  cur=$(jq -r '.usage.memory_current_bytes // 0' <<<"$e")
  [ -n "$m0" ] && [ -n "$m1" ] || { f "no memory.current to compare with"; return; }
  [ "$cur" -ge $((32 * 1048576)) ] || { f "ps says $cur bytes, less than the 32 MiB the job holds"; return; }
  local lo=$(( (m0 < m1 ? m0 : m1) * 9 / 10 )) hi=$(( (m0 > m1 ? m0 : m1) * 11 / 10 ))
  [ "$cur" -ge "$lo" ] && [ "$cur" -le "$hi" ] || { f "ps says $cur bytes, memory.current was $m0 then $m1"; return; }
  jq -e '.usage.memory_limit_bytes == 100663296 and .usage.tasks == 1' <<<"$e" >/dev/null || { f "ps --json usage for lim: $(jq -c .usage <<<"$e")"; return; }
  note "measure: ps --json memory $cur bytes; memory.current $m0 / $m1"
}
check "ps --json memory matches memory.current (±10%), with the 96 MiB limit" t_ps_mem

for j in cpu20 w100 w400 lim; do "$FF" kill "$j" --grace 1 >/dev/null 2>&1; done

# ---------------------------------------------------------------- memory.max: OOM
dmesg -c >/dev/null 2>&1
"$FF" run --json --job-id oom --memory-max-mb 64 -- "$SPIN" alloc 200 > "$T/oom.out" 2>"$T/oom.err"
OOM_RC=$?
t_oom_kernel() {
  local k; k=$(dmesg 2>/dev/null)
  grep -q "oom_memcg=$PARENT/oom[,]" <<<"$k" || grep -q "oom_memcg=$PARENT/oom$" <<<"$k" ||
    { f "no OOM kill in memcg $PARENT/oom in dmesg: $(grep -i oom <<<"$k" | tail -3 | tr '\n' '|')"; return; }
  grep -q "Memory cgroup out of memory: Killed process .*(ffrtmp-testloa" <<<"$k" ||
    { f "dmesg names no killed ffrtmp-testload: $(grep -i 'killed process' <<<"$k" | tail -1)"; return; }
}
check "memory.max 64 MiB: the kernel's OOM killer fires in the job's memcg for a 200 MiB allocation (dmesg)" t_oom_kernel
t_oom_record() {
  [ "$OOM_RC" = 137 ] || { f "ffrtmp run exited $OOM_RC, not 137"; return; }
  has_exit oom || { f "no exit record"; return; }
  jq -e '.oom_killed == true and .oom_kill_count >= 1 and .signal == 9 and .exit_code == null and .peak_memory_bytes <= 68157440' \
    "$(jobdir oom)/exit.json" >/dev/null || { f "exit.json: $(jq -c '{oom_killed,oom_kill_count,signal,exit_code,peak_memory_bytes}' "$(jobdir oom)/exit.json")"; return; }
  ps_json 0
  jq -e '.oom_killed == true and .platform_sla_reason == "oom_own_limit"' <<<"$(ps_job oom)" >/dev/null ||
    { f "ps --json: $(jq -c '{state,oom_killed,platform_sla_reason,signal}' <<<"$(ps_job oom)")"; return; }
  grep -q "allocated 200" "$(jobdir oom)/stdout.log" && { f "the job says it allocated all 200 MiB"; return; }
  return 0
}
check "the OOM is recorded: exit 137, exit.json oom_killed with signal 9 and peak <= 65 MiB, ps says oom_own_limit" t_oom_record

# ---------------------------------------------------------------- pids.max
# bash retries a fork that fails with EAGAIN, so the leader lives on while the cap holds.
"$FF" run --detach --job-id pids --pids-max 8 -- bash -c 'for i in $(seq 30); do sleep 60 & done; wait' >/dev/null
PIDS_PEAK=0
pids_capped() {
  local c; c=$(cat "$(jobcg pids)/pids.current" 2>/dev/null) || return 1
  [ "$c" -gt "$PIDS_PEAK" ] && PIDS_PEAK=$c
  [ "$(cg_key "$(jobcg pids)/pids.events" max)" -ge 1 ] 2>/dev/null
}
wait_for 30 pids_capped
sleep 1; pids_capped
t_pids() {
  local d; d=$(jobcg pids)
  [ -d "$d" ] || { f "no cgroup $d"; return; }
  [ "$(cat "$d/pids.max")" = 8 ] || { f "pids.max is '$(cat "$d/pids.max")'"; return; }
  local ev; ev=$(cg_key "$d/pids.events" max)
  [ "${ev:-0}" -ge 1 ] || { f "pids.events max is '${ev}': no fork was refused (pids.current $(cat "$d/pids.current"))"; return; }
  [ "$PIDS_PEAK" -le 8 ] || { f "pids.current reached $PIDS_PEAK"; return; }
  local procs; procs=$(wc -l < "$d/cgroup.procs")
  [ "$procs" -le 8 ] && [ "$procs" -ge 6 ] || { f "$procs processes in the job (expected the cap of 8 reached, none over)"; return; }
  note "measure: pids.max 8 -> $procs processes, peak pids.current $PIDS_PEAK, $ev forks refused (of 30 tried)"
}
check "pids.max 8 caps a 30-fork loop: at most 8 tasks, pids.events counts the refused forks" t_pids
"$FF" kill pids --grace 1 >/dev/null 2>&1

# ---------------------------------------------------------------- io.max
# dd's own summary gives bytes and seconds; /sys/block says what reached the disk meanwhile.
dd_rate() {  # JOB -> "BYTES SECONDS" from dd's summary in the job's stderr.log
  sed -n 's/^\([0-9]*\) bytes.* copied, \([0-9.e-]*\) s,.*/\1 \2/p' "$(jobdir "$1")/stderr.log" | tail -1
}
sectors_written() { awk '{ print $7 }' "/sys/block/${IO_DEV#/dev/}/stat"; }
"$FF" run --job-id io-free -- dd if=/dev/zero of="$IO_DEV" bs=1M count=32 oflag=direct >/dev/null 2>&1
s0=$(sectors_written)
"$FF" run --detach --job-id io-lim --io-max "$IO_MAJMIN wbps=1048576" -- dd if=/dev/zero of="$IO_DEV" bs=64k count=64 oflag=direct >/dev/null
IO_LIM_MAX="" IO_LIM_WBYTES=0
io_lim_seen() {
  local d; d=$(jobcg io-lim)
  IO_LIM_MAX=$(cat "$d/io.max" 2>/dev/null) || return 1
  IO_LIM_WBYTES=$(sed -n "s/^$IO_MAJMIN .*wbytes=\([0-9]*\).*/\1/p" "$d/io.stat" 2>/dev/null)
  [ "${IO_LIM_WBYTES:-0}" -gt 0 ]
}
wait_for 20 io_lim_seen
wait_for 40 has_exit io-lim
s1=$(sectors_written)
read -r FREE_B FREE_S <<<"$(dd_rate io-free)"
read -r LIM_B LIM_S <<<"$(dd_rate io-lim)"
FREE_MBS=$(calc "${FREE_B:-0} / 1048576 / (${FREE_S:-0} > 0 ? ${FREE_S:-0} : 1)")
LIM_MBS=$(calc "${LIM_B:-0} / 1048576 / (${LIM_S:-0} > 0 ? ${LIM_S:-0} : 1)")
IO_RATIO=$(calc "$FREE_MBS / ($LIM_MBS > 0 ? $LIM_MBS : 0.001)")
note "measure: dd O_DIRECT to $IO_DEV: unlimited ${FREE_MBS} MiB/s, io.max wbps=1 MiB/s ${LIM_MBS} MiB/s (ratio ${IO_RATIO}); $(( (s1 - s0) * 512 )) bytes reached the disk during the limited job"
t_io_lim() {
  [ "$IO_LIM_MAX" = "$IO_MAJMIN rbps=max wbps=1048576 riops=max wiops=max" ] || { f "io.max of the running job was '$IO_LIM_MAX'"; return; }
  [ "${IO_LIM_WBYTES:-0}" -gt 0 ] || { f "the job's io.stat counted no writes to $IO_MAJMIN"; return; }
  [ "${LIM_B:-0}" = 4194304 ] || { f "dd wrote '${LIM_B}' bytes, not 4 MiB: $(tail -2 "$(jobdir io-lim)/stderr.log" | tr '\n' '|')"; return; }
  [ $(( (s1 - s0) * 512 )) -ge 4194304 ] || { f "only $(( (s1 - s0) * 512 )) bytes reached $IO_DEV"; return; }
  calc_ok "$LIM_MBS <= 1.3" || { f "the limited dd wrote at ${LIM_MBS} MiB/s, over the 1 MiB/s limit"; return; }
}
check "io.max wbps=1 MiB/s on the virtio disk: in io.max while it runs, io.stat counts it, dd O_DIRECT at <= 1.3 MiB/s" t_io_lim
t_io_ratio() {
  [ "${FREE_B:-0}" = 33554432 ] || { f "the unlimited dd wrote '${FREE_B}' bytes: $(tail -2 "$(jobdir io-free)/stderr.log" | tr '\n' '|')"; return; }
  calc_ok "$IO_RATIO >= 4" || { f "unlimited ${FREE_MBS} MiB/s is only ${IO_RATIO}x the limited ${LIM_MBS} MiB/s"; return; }
}
check "io.max: the same dd without a limit, in the same VM run, is at least 4x faster" t_io_ratio

# ---------------------------------------------------------------- placement before exec
"$FF" run --job-id place -- cat /proc/self/cgroup > "$T/place.out" 2>"$T/place.err"
PLACE_RC=$?
t_place() {
  [ "$PLACE_RC" = 0 ] || { f "ffrtmp run exited $PLACE_RC: $(tail -2 "$T/place.err")"; return; }
  [ "$(cat "$(jobdir place)/stdout.log")" = "0::$PARENT/place" ] || { f "the workload saw '$(cat "$(jobdir place)/stdout.log")' as its own cgroup"; return; }
  grep -qx "0::$PARENT/place" "$T/place.out" || { f "the foreground run streamed '$(head -1 "$T/place.out")'"; return; }
}
check "placement before exec: the workload's very first read of /proc/self/cgroup is its job cgroup" t_place

# ---------------------------------------------------------------- timeout
tt0=$(now_us)
"$FF" run --json --job-id tmo --timeout 2 --grace 1 -- "$SPIN" stubborn 60 > "$T/tmo.out" 2>"$T/tmo.err"
TMO_RC=$? TMO_S=$(calc "($(now_us) - $tt0) / 1000000")
t_timeout() {
  [ "$TMO_RC" = 137 ] || { f "ffrtmp run exited $TMO_RC, not 137"; return; }
  calc_ok "$TMO_S >= 2.9 && $TMO_S <= 40" || { f "it ended after $TMO_S s (timeout 2 + grace 1)"; return; }
  jq -e '.timed_out == true and .signal == 9' "$(jobdir tmo)/exit.json" >/dev/null || { f "exit.json: $(jq -c '{timed_out,signal,exit_code}' "$(jobdir tmo)/exit.json")"; return; }
  gone "$(cut -d' ' -f1 "$(jobdir tmo)/workload.pid")" || { f "the TERM-ignoring workload still runs"; return; }
  [ ! -d "$(jobcg tmo)" ] || { f "its cgroup is still there"; return; }
}
check "--timeout 2 --grace 1 ends a TERM-ignoring workload with SIGKILL after ~3 s (timed_out, cgroup gone)" t_timeout

# ---------------------------------------------------------------- kill with setsid escapees
# The leader and one escapee ignore SIGTERM (only the cgroup-wide SIGKILL ends them), two
# escapees in sessions of their own die of the TERM, one child stays in the leader's group.
"$FF" run --detach --job-id kesc -- sh -c 'setsid sleep 1000 & setsid sleep 1000 & "$0" escape 1000 & exec "$0" stubborn 1000' "$SPIN" >/dev/null
kesc_all_there() { [ "$(wc -l < "$(jobcg kesc)/cgroup.procs" 2>/dev/null)" -ge 5 ] 2>/dev/null; }
wait_for 30 kesc_all_there
sleep 0.5
KLEADER=$(wpid kesc) KPIDS=() KSLEEPS=() KSTUBBORN=()
if [ -f "$(jobcg kesc)/cgroup.procs" ]; then
  for p in $(cat "$(jobcg kesc)/cgroup.procs"); do
    KPIDS+=("$p:$(stat_field "$p" 22)")
    case $(cat "/proc/$p/comm" 2>/dev/null) in sleep) KSLEEPS+=("$p") ;; *) [ "$(stat_field "$p" 6)" != "$(stat_field "$KLEADER" 6)" ] && KSTUBBORN+=("$p") ;; esac
  done
fi
t_escapees() {
  [ "${#KPIDS[@]}" -ge 5 ] || { f "${#KPIDS[@]} processes in the job cgroup, expected 5: $(cat "$(jobcg kesc)/cgroup.procs" 2>/dev/null | tr '\n' ' ')"; return; }
  local e p others=0
  for e in "${KPIDS[@]}"; do p=${e%%:*}; [ "$(stat_field "$p" 6)" != "$(stat_field "$KLEADER" 6)" ] && others=$((others + 1)); done
  [ "$others" -ge 3 ] || { f "only $others of ${#KPIDS[@]} processes left the leader's session"; return; }
  [ "${#KSLEEPS[@]}" = 2 ] && [ "${#KSTUBBORN[@]}" = 1 ] || { f "expected 2 setsid sleeps and 1 TERM-ignoring escapee, found ${#KSLEEPS[@]} and ${#KSTUBBORN[@]}"; return; }
}
check "a job with 3 setsid escapees (own sessions) and a TERM-ignoring leader: all 5 in its cgroup" t_escapees

"$FF" kill kesc --grace 4 --json > "$T/kesc.json" 2>"$T/kesc.err" &
KILL_PID=$!; ours "$KILL_PID"; kt0=$(now_us)
sleeps_gone() { local p; for p in "${KSLEEPS[@]}"; do alive "$p" && return 1; done; return 0; }
wait_for 15 sleeps_gone; SLEEPS_GONE=$?
K_LEADER_ALIVE=1 K_STUB_ALIVE=1 K_KILL_RUNNING=1
alive "$KLEADER" || K_LEADER_ALIVE=0
alive "${KSTUBBORN[0]:-}" || K_STUB_ALIVE=0
kill -0 "$KILL_PID" 2>/dev/null || K_KILL_RUNNING=0
wait "$KILL_PID"; KILL_RC=$? KILL_S=$(calc "($(now_us) - $kt0) / 1000000")
t_kill_term() {
  [ "$SLEEPS_GONE" = 0 ] || { f "the setsid sleeps outside the job's process group outlived the TERM"; return; }
  [ "$K_KILL_RUNNING" = 1 ] || { f "ffrtmp kill had already returned when the TERM phase was looked at"; return; }
  [ "$K_LEADER_ALIVE" = 1 ] && [ "$K_STUB_ALIVE" = 1 ] || { f "a TERM-ignoring process died in the grace period (leader $K_LEADER_ALIVE, escapee $K_STUB_ALIVE)"; return; }
}
check "ffrtmp kill: the TERM reaches escapees in other sessions (cgroup members); TERM-ignorers live through the grace" t_kill_term
t_kill_all() {
  [ "$KILL_RC" = 0 ] || { f "ffrtmp kill exited $KILL_RC: $(tail -2 "$T/kesc.err")"; return; }
  local e p left=""
  for e in "${KPIDS[@]}"; do p=${e%%:*}; [ "$(stat_field "$p" 22 2>/dev/null)" = "${e#*:}" ] && alive "$p" && left+=" $p"; done
  [ -z "$left" ] || { f "still alive after the kill:$left"; return; }
  wait_for 10 test ! -d "$(jobcg kesc)" || { f "$(jobcg kesc) is still there"; return; }
  calc_ok "$KILL_S >= 3.5" || { f "the kill took $KILL_S s: the TERM-ignorers died before the 4 s grace ended"; return; }
  note "measure: ffrtmp kill --grace 4 took $KILL_S s, ${#KPIDS[@]} processes gone"
}
check "after the grace the cgroup-wide SIGKILL (cgroup.kill) leaves none of the 5 alive, and the cgroup is removed" t_kill_all
t_kill_record() {
  wait_for 10 has_exit kesc || { f "no exit record"; return; }
  jq -e '.signal == 9 and (.killed_by | type == "string" and test("signal=SIGTERM"))' "$(jobdir kesc)/exit.json" >/dev/null ||
    { f "exit.json: $(jq -c '{signal,killed_by,exit_code}' "$(jobdir kesc)/exit.json")"; return; }
  ps_json 0
  [ "$(jq -r .state <<<"$(ps_job kesc)")" = killed ] || { f "ps --json says $(jq -c '{state,killed_by}' <<<"$(ps_job kesc)")"; return; }
}
check "the kill is recorded: exit.json signal 9 and killed_by (the operator, SIGTERM), ps says killed" t_kill_record

# ---------------------------------------------------------------- crash safety: kill -9 of ffrtmp run
setsid "$FF" run --job-id crash -- sh -c 'sleep 8; exit 7' > "$T/crash.out" 2>&1 &
RUN_PID=$!; ours "$RUN_PID"
wait_for 30 job_running crash
CRASH_W=$(wpid crash) CRASH_WS=$(wstart crash 2>/dev/null)
kill -KILL "$RUN_PID"; wait "$RUN_PID" 2>/dev/null
sleep 1
t_crash_alive() {
  [ -n "$CRASH_W" ] || { f "the crash job never ran"; return; }
  gone "$RUN_PID" || { f "ffrtmp run ($RUN_PID) survived kill -9"; return; }
  alive "$CRASH_W" && [ "$(stat_field "$CRASH_W" 22)" = "$CRASH_WS" ] || { f "the workload $CRASH_W died with ffrtmp run"; return; }
  [ "$(cg_of "$CRASH_W")" = "$PARENT/crash" ] || { f "the workload is in '$(cg_of "$CRASH_W")'"; return; }
  local shim; shim=$(cut -d' ' -f1 "$(jobdir crash)/shim.pid")
  alive "$shim" || { f "the shim $shim is gone"; return; }
  ps_json 0
  [ "$(jq -r .state <<<"$(ps_job crash)")" = running ] || { f "ps --json says $(jq -c '{state,error}' <<<"$(ps_job crash)")"; return; }
}
check "kill -9 of a foreground ffrtmp run: the job runs on in its cgroup under its shim" t_crash_alive
t_crash_record() {
  wait_for 30 has_exit crash || { f "no exit record 30 s later"; return; }
  [ "$(exit_field crash .exit_code)" = 7 ] || { f "exit.json says exit_code $(exit_field crash .exit_code)"; return; }
  ps_json 0
  jq -e '.state == "exited" and .exit_code == 7' <<<"$(ps_job crash)" >/dev/null || { f "ps --json: $(jq -c '{state,exit_code,platform_sla_reason}' <<<"$(ps_job crash)")"; return; }
  gone "$CRASH_W" || { f "the workload still runs"; return; }
}
check "...and its exit record is written by the shim with the real exit code (7)" t_crash_record

# ---------------------------------------------------------------- orphans, attach, detach
mkdir -p "$HOME_CG"
setsid ffmpeg -nostdin -hide_banner -loglevel error -re -f lavfi -i testsrc=size=160x120:rate=10 -t 600 \
  -progress "file:$T/att.progress" -f null - > "$T/att-ffmpeg.log" 2>&1 &
FP=$!
is_ffmpeg() { [ "$(cat "/proc/$FP/comm" 2>/dev/null)" = ffmpeg ]; }
wait_for 20 is_ffmpeg; ours "$FP"
echo "$FP" > "$HOME_CG/cgroup.procs"
progress_n() { local c; c=$(grep -c '^progress=' "$T/att.progress" 2>/dev/null) || true; echo "${c:-0}"; }
has_progress() { [ "$(progress_n)" -gt 0 ]; }
wait_for 30 has_progress
FP_START=$(stat_field "$FP" 22)

t_orphans() {
  is_ffmpeg && [ "$(stat_field "$FP" 5)" = "$FP" ] || { f "pid $FP is not an ffmpeg group leader"; return; }
  local o; o=$("$FF" orphans --json 2>"$T/orphans.err") || { f "ffrtmp orphans --json failed: $(tail -1 "$T/orphans.err")"; return; }
  jq -e --argjson p "$FP" '.groups | any(.pgid == $p)' <<<"$o" >/dev/null || { f "group $FP not listed: $(head -c 300 <<<"$o")"; return; }
}
check "ffrtmp orphans --json lists an ungoverned ffmpeg process group" t_orphans

"$FF" attach --pgid "$FP" --job-id att --cpu-max "50000 100000" --json > "$T/att.json" 2>"$T/att.err" &
ATT_PID=$!; ours "$ATT_PID"
in_att() { [ "$(cg_of "$FP")" = "$PARENT/att" ]; }
wait_for 30 in_att
pa=$(progress_n); sleep 2.5; pb=$(progress_n)
t_attach() {
  in_att || { f "ffmpeg $FP is in '$(cg_of "$FP")', not $PARENT/att: $(tail -2 "$T/att.err")"; return; }
  grep -qx "$FP" "$(jobcg att)/cgroup.procs" || { f "not in $(jobcg att)/cgroup.procs"; return; }
  [ "$(stat_field "$FP" 22)" = "$FP_START" ] || { f "pid $FP is not the same process"; return; }
  [ "$(cat "$(jobcg att)/cpu.max")" = "50000 100000" ] || { f "cpu.max is '$(cat "$(jobcg att)/cpu.max")'"; return; }
  [ "$pb" -gt "$pa" ] || { f "ffmpeg made no progress after the attach ($pa -> $pb reports)"; return; }
}
check "attach --pgid adopts a running ffmpeg: same pid, in the job cgroup with its cpu.max, still progressing" t_attach

kill -TERM "$ATT_PID"
wait_for 20 gone "$ATT_PID"; wait "$ATT_PID" 2>/dev/null
back_home() { [ "$(cg_of "$FP")" = "${HOME_CG#"$CG"}" ]; }
pa=$(progress_n); sleep 2.5; pb=$(progress_n)
t_detach() {
  gone "$ATT_PID" || { f "ffrtmp attach did not end on SIGTERM"; return; }
  back_home || { f "ffmpeg is in '$(cg_of "$FP")', not back in ${HOME_CG#"$CG"}"; return; }
  alive "$FP" && [ "$(stat_field "$FP" 22)" = "$FP_START" ] || { f "ffmpeg died at the detach"; return; }
  [ "$pb" -gt "$pa" ] || { f "ffmpeg made no progress after the detach ($pa -> $pb reports)"; return; }
}
check "detach (SIGTERM to attach) hands ffmpeg back to its original cgroup, where it keeps running" t_detach
t_detach_job() {
  wait_for 10 test ! -d "$(jobcg att)" || { f "the attach job's cgroup is still there"; return; }
  ps_json 0
  [ "$(jq -r .state <<<"$(ps_job att)")" = detached ] || { f "ps --json: $(jq -c '{state,error}' <<<"$(ps_job att)")"; return; }
}
check "the detached job is closed: ps says detached, its cgroup is removed" t_detach_job
kill -TERM "$FP"; wait_for 10 gone "$FP"; wait "$FP" 2>/dev/null
rmdir "$HOME_CG" 2>/dev/null

# ---------------------------------------------------------------- agent and master on loopback
MPORT=18480
(umask 077
 head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/api.key"
 printf 'Authorization: Bearer %s\n' "$(cat "$T/api.key")" > "$T/auth.hdr")
api() { curl -sS --max-time 10 -H @"$T/auth.hdr" "${@:2}" "http://127.0.0.1:$MPORT$1"; }
(umask 077; "$BIN/ffrtmp-master" nodes add v2node --db "sqlite:$T/master.db" > "$T/node.key" 2>"$T/nodes-add.log")
"$BIN/ffrtmp-master" --listen "127.0.0.1:$MPORT" --db "sqlite:$T/master.db" --api-key-file "$T/api.key" > "$T/master.log" 2>&1 &
MASTER_PID=$!; ours "$MASTER_PID"
master_up() { [ "$(api /api/jobs -o /dev/null -w '%{http_code}' 2>/dev/null)" = 200 ]; }
wait_for 60 master_up || note "the master does not answer on 127.0.0.1:$MPORT: $(tail -2 "$T/master.log")"
mkdir -p "$T/media"; chown nobody: "$T/media"
cat > "$T/worker.env" <<EOF
MASTER_URL=http://127.0.0.1:$MPORT
FFRTMP_API_KEY_FILE=$T/node.key
NODE_ID=v2node
MAX_JOBS=2
POLL_INTERVAL=0.5
HEARTBEAT_INTERVAL=1
WRAPPER_ENABLED=true
FFMPEG_PATH=/usr/bin/ffmpeg
FFRTMP_STATE_DIR=$STATE
FFRTMP_CGROUP_PARENT=$PARENT
FFRTMP_CGROUP_DRIVER=$DRIVER
JOB_USER=nobody
MEDIA_ROOTS=$T/media
EOF
"$FF" agent --config "$T/worker.env" > "$T/agent.log" 2>&1 &
AGENT_PID=$!; ours "$AGENT_PID"
agent_registered() { "$FF" ctl --state-dir "$STATE" '{"op":"status"}' 2>/dev/null | jq -e '.registered == true' >/dev/null; }
wait_for 90 agent_registered
t_agent_up() {
  alive "$AGENT_PID" || { f "the agent exited: $(tail -3 "$T/agent.log" | tr '\n' '|')"; return; }
  agent_registered || { f "the agent is not registered: $("$FF" ctl --state-dir "$STATE" '{"op":"status"}' 2>&1 | head -c 300)"; return; }
  api /api/nodes | jq -e 'any(.[]; .id == "v2node" and .status == "online")' >/dev/null 2>&1 ||
    { f "the master does not list node v2node online: $(api /api/nodes | head -c 300)"; return; }
}
check "ffrtmp agent (v2 driver) registers with ffrtmp-master on 127.0.0.1 using its node key" t_agent_up

MASTER_URL=http://127.0.0.1:$MPORT FFRTMP_API_KEY_FILE=$T/api.key "$FF" jobs submit --id v2agent --engine ffmpeg \
  --wrapper-enabled true --cpu-max "50000 100000" --memory-max-mb 128 \
  --parameters '{"input":"testsrc","resolution":"160x120","fps":10,"duration_seconds":6,"realtime":true}' --json > "$T/submit.json" 2>"$T/submit.err"
AJ=v2agent.a1
wait_for 60 job_running "$AJ" ffmpeg
t_agent_job() {
  job_running "$AJ" ffmpeg || { f "no running ffmpeg for $AJ: submit $(head -c 200 "$T/submit.json" "$T/submit.err" | tr '\n' ' '), agent: $(tail -2 "$T/agent.log" | tr '\n' '|')"; return; }
  local p; p=$(wpid "$AJ")
  [ "$(cg_of "$p")" = "$PARENT/$AJ" ] || { f "the agent's ffmpeg is in '$(cg_of "$p")'"; return; }
  [ "$(cat "$(jobcg "$AJ")/cpu.max")" = "50000 100000" ] || { f "cpu.max is '$(cat "$(jobcg "$AJ")/cpu.max")'"; return; }
  [ "$(cat "$(jobcg "$AJ")/memory.max")" = $((128 * 1048576)) ] || { f "memory.max is '$(cat "$(jobcg "$AJ")/memory.max")'"; return; }
  [ "$(awk '/^Uid:/ { print $2 }' "/proc/$p/status")" = "$(id -u nobody)" ] || { f "the workload runs as uid $(awk '/^Uid:/ { print $2 }' "/proc/$p/status")"; return; }
}
check "a submitted job runs under v2 governance: ffmpeg as nobody in PARENT/$AJ with its cpu.max and memory.max" t_agent_job

# The console in tmux at 120x40, while the agent's job runs.
tmux -L "$TMUX_SOCK" -u new-session -d -s con -x 120 -y 40 \
  "env TERM=tmux-256color FFRTMP_CONSOLE=$BIN/ffrtmp-console FFRTMP_CGROUP_DRIVER=$DRIVER $FF console --state-dir $STATE --cgroup-parent $PARENT --config $T/worker.env --no-color"
capture() { tmux -L "$TMUX_SOCK" capture-pane -p -t con > "$T/console.txt" 2>/dev/null; }
console_shows() { capture && grep -q "$AJ" "$T/console.txt" && grep -q 'registered' "$T/console.txt"; }
wait_for 60 console_shows
sleep 2; capture
cp "$T/console.txt" "$RW/console-v2.txt"
t_console_job() {
  [ -s "$T/console.txt" ] || { f "nothing on the console's screen"; return; }
  grep "$AJ" "$T/console.txt" | grep -q running || { f "no running $AJ on screen: $(head -12 "$T/console.txt" | tr -s ' ' | tr '\n' '|')"; return; }
}
check "ffrtmp console in tmux (120x40) shows the agent's running job $AJ" t_console_job
t_console_header() {
  head -3 "$T/console.txt" | grep -q "cgroup v2" || { f "the header does not say cgroup v2: $(head -1 "$T/console.txt")"; return; }
  head -3 "$T/console.txt" | grep -q "governance full" || { f "the header does not say governance full: $(head -1 "$T/console.txt")"; return; }
  head -3 "$T/console.txt" | grep -q "connected (node v2node)" || { f "the header does not show the agent connected: $(sed -n 2p "$T/console.txt")"; return; }
}
check "the console's header says cgroup v2, governance full, agent connected (node v2node)" t_console_header
tmux -L "$TMUX_SOCK" send-keys -t con q
wait_for 10 eval '! tmux -L "$TMUX_SOCK" has-session -t con 2>/dev/null'
tmux -L "$TMUX_SOCK" kill-server 2>/dev/null

master_says() { [ "$(api /api/jobs/v2agent | jq -r .status 2>/dev/null)" = "$1" ]; }
wait_for 150 master_says completed
t_agent_result() {
  local j; j=$(api /api/jobs/v2agent)
  jq -e --arg cg "$PARENT/$AJ" '.status == "completed" and .platform_sla == true and .result.metrics.exit_code == 0
      and .result.metrics.governance == "full" and .result.result.cgroup == $cg and (.result.metrics.cpu_seconds > 0)
      and .result.result.constraints_applied.cpu_max == "50000 100000" and .result.result.constraints_applied.memory_max_mb == 128' <<<"$j" >/dev/null ||
    { f "at the master: $(jq -c '{status,platform_sla,platform_sla_reason,metrics:.result.metrics,cgroup:.result.result.cgroup}' <<<"$j" 2>/dev/null || head -c 300 <<<"$j")"; return; }
  note "measure: agent job $AJ: $(jq -c '{exec_duration:.result.metrics.exec_duration,cpu_seconds:.result.metrics.cpu_seconds,peak_memory_bytes:.result.metrics.peak_memory_bytes}' <<<"$j")"
}
check "its result reaches the master: completed, exit 0, governance full, the v2 cgroup and limits recorded" t_agent_result

kill -TERM "$AGENT_PID" 2>/dev/null; wait_for 20 gone "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=""
kill -TERM "$MASTER_PID" 2>/dev/null; wait_for 20 gone "$MASTER_PID"; wait "$MASTER_PID" 2>/dev/null

# ---------------------------------------------------------------- clean-up, swap plumbing
t_cleanup() {
  ps_json 0
  local live; live=$(jq -r '.[] | select(.state == "running" or .state == "starting" or .state == "orphaned") | .job_id' <<<"$PS_JSON" | tr '\n' ' ')
  [ -z "$live" ] || { f "jobs still live: $live"; return; }
  wait_for 10 eval '[ -z "$(leftover_cgroups)" ]' || { f "job cgroups left: $(leftover_cgroups | tr '\n' ' ')"; return; }
  [ -z "$(parent_pids)" ] || { f "processes left under $PARENT: $(parent_pids | tr '\n' ' ')"; return; }
  note "after the jobs: $CG$PARENT $([ -d "$CG$PARENT" ] && echo "remains (empty)" || echo "is removed too")"
}
check "after every job ended: no job cgroup and no process left under $PARENT" t_cleanup
t_shims_gone() {
  local fl pid left="" nshims=0
  for fl in "$STATE"/jobs/*/shim.pid; do
    [ -f "$fl" ] || continue; nshims=$((nshims + 1))
    pid=$(cut -d' ' -f1 "$fl")
    [ "$(stat_field "$pid" 22 2>/dev/null)" = "$(cut -d' ' -f2 "$fl")" ] && alive "$pid" && left+=" $(basename "$(dirname "$fl")")"
  done
  [ "$nshims" -ge 10 ] || { f "only $nshims supervisors in the journal"; return; }
  [ -z "$left" ] || { f "supervisors still alive for:$left"; return; }
}
check "every supervisor (shim or attach watcher) of the run has exited" t_shims_gone
t_swap_plumbing() {
  [ "$V2_SWAP_READY" = 1 ] || { f "mkswap $SWAP_DEV failed"; return; }
  swap_on || { f "swapon $SWAP_DEV failed"; return; }
  grep -q "^$SWAP_DEV " /proc/swaps || { swap_off; f "$SWAP_DEV is not in /proc/swaps"; return; }
  swap_off || { f "swapoff $SWAP_DEV failed"; return; }
}
check "the swap disk is usable (mkswap, swapon, swapoff) for swap checks: V2_SWAP_READY, swap_on, swap_off" t_swap_plumbing

out "# suite finished: $pass passed, $fail failed, $known known bugs, $((SECONDS - suite_t0)) s"
