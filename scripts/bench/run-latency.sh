#!/usr/bin/env bash
# Start-to-exit latency of a governed /bin/true: cgroups with a CPU quota and a memory
# limit, exec, wait, clean-up. ffrtmp run (release, static Swift runtime) against the
# cgroup-tools chain `cgcreate && cgset && cgset && cgexec && cgdelete`, measured
# alternately in the same run; also a bare /bin/true for scale. Prints medians and the ratio.
# Usage: scripts/bench/run-latency.sh [ROUNDS] [--favordynmods]   (root; writes docs/bench/run-latency*.txt)
#
# Every v1 cgroup migration (cgexec's and ours alike) waits for an RCU grace period when
# the kernel's global cgroup_threadgroup_rwsem is idle (5-20 ms here). --favordynmods
# remounts the cgroup2 mount with that option for the run, which keeps the rwsem in its
# slow-reader mode so migrations skip the wait, and restores the mount flags afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-300}
favor=${2:-}
[ "$(id -u)" = 0 ] || { echo "needs root (cgroups)" >&2; exit 1; }
scripts/install-deps.sh bench
swift build -c release --static-swift-stdlib >/dev/null
scripts/build-shim.sh
bin=$PWD/.build/release
state=$(mktemp -d /tmp/ffrtmp-bench-XXXXXX)
parent=ffrtmp-bench-$$
cleanup() {
  for c in cpu cpuacct memory blkio pids freezer; do
    [ -d /sys/fs/cgroup/$c/$parent ] && find /sys/fs/cgroup/$c/$parent -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null; rmdir /sys/fs/cgroup/$c/$parent 2>/dev/null || true
  done
  rm -rf "$state"
}
v2mount=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
remount_v2() {  # mount(2) directly: mount(8) would merge the current options back in
  python3 -c "import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); sys.exit(l.mount(None, sys.argv[1].encode(), None, 32 | (1<<21), sys.argv[2].encode()) != 0)" "$v2mount" "$1"
}
suffix=""
if [ "$favor" = --favordynmods ]; then
  [ -n "$v2mount" ] || { echo "no cgroup2 mount to set favordynmods on" >&2; exit 1; }
  if grep -q " $v2mount .*favordynmods" /proc/self/mountinfo; then favor=already; else remount_v2 favordynmods; fi
  suffix="-favordynmods"
fi
restore() { cleanup; if [ "$favor" = --favordynmods ]; then remount_v2 ""; fi; }
trap restore EXIT
export FFRTMP_STATE_DIR=$state FFRTMP_CGROUP_PARENT=$parent

ns() { local t=$EPOCHREALTIME; echo "${t/./}"; }   # microseconds, no fork
declare -a t_ffrtmp t_cgtools t_bare
for ((i = 0; i < rounds; i++)); do
  a=$(ns); "$bin/ffrtmp" run --job-id "b$i" --cpu-max "50000 100000" --memory-max-mb 256 -- /bin/true 2>/dev/null; b=$(ns)
  t_ffrtmp+=($((b - a)))
  a=$(ns)
  cgcreate -g cpu,memory:/$parent/c$i && cgset -r cpu.cfs_quota_us=50000 $parent/c$i && cgset -r memory.limit_in_bytes=256M $parent/c$i \
    && cgexec -g cpu,memory:/$parent/c$i /bin/true && cgdelete -g cpu,memory:/$parent/c$i
  b=$(ns)
  t_cgtools+=($((b - a)))
  a=$(ns); /bin/true; b=$(ns)
  t_bare+=($((b - a)))
  # Keep the journal small: the benchmark is about the governed start, not about ps.
  rm -rf "$state/jobs/b$i"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
p95() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {i=int(NR*0.95); if(i<1)i=1; print a[i]}'; }
mf=$(median "${t_ffrtmp[@]}"); mc=$(median "${t_cgtools[@]}"); mb=$(median "${t_bare[@]}")
pf=$(p95 "${t_ffrtmp[@]}"); pc=$(p95 "${t_cgtools[@]}")
ratio=$(awk -v f="$mf" -v c="$mc" 'BEGIN {printf "%.2f", f / c}')
mkdir -p docs/bench
{
  echo "run-latency${suffix}: $(date -u +%FT%TZ) $(uname -r) $(nproc) cores, $rounds alternating rounds, $(grep " $v2mount " /proc/self/mountinfo | awk '{print $NF}') on $v2mount"
  echo "ffrtmp run (cpu+memory limits, shim, exit record, cleanup): median ${mf} us, p95 ${pf} us"
  echo "cgcreate+cgset+cgset+cgexec+cgdelete:                     median ${mc} us, p95 ${pc} us"
  echo "bare /bin/true (fork+exec from bash):                      median ${mb} us"
  echo "ratio ffrtmp/cgroup-tools: ${ratio} (target <= 0.50)"
} | tee "docs/bench/run-latency${suffix}.txt"
