#!/usr/bin/env bash
# Inside the v2 VM (scripts/test_v2.sh with V2_BENCH=1): start-to-exit latency of a governed
# /bin/true on a real cgroup v2 kernel, ffrtmp run against the cgroup-tools chain
# `cgcreate && cgset && cgset && cgexec && cgdelete`, alternating in the same run. TCG makes
# absolute times meaningless: only the ratio is reported as a result.
set -o pipefail
REPO=${V2_REPO:?}
rounds=${V2_BENCH_ROUNDS:-60}
bin=$REPO/.build/release
[ -x "$bin/ffrtmp" ] || bin=${V2_BIN:?}
build=$(basename "$bin")
state=$(mktemp -d /tmp/ffrtmp-v2bench-XXXXXX)
export FFRTMP_STATE_DIR=$state
ns() { local t=$EPOCHREALTIME; echo "${t/./}"; }
declare -a tf tc tn tb
for ((i = 0; i < rounds; i++)); do
  # Where the time goes: the same ffrtmp run with no cgroups at all, and a bare /bin/true.
  a=$(ns); FFRTMP_CGROUP_DRIVER=none "$bin/ffrtmp" run --job-id "n$i" -- /bin/true 2>/dev/null; b=$(ns)
  tn+=($((b - a)))
  a=$(ns); /bin/true; b=$(ns)
  tb+=($((b - a)))
  a=$(ns); "$bin/ffrtmp" run --cgroup-parent /v2bench --job-id "b$i" --cpu-max "50000 100000" --memory-max-mb 256 -- /bin/true 2>/dev/null; b=$(ns)
  tf+=($((b - a)))
  a=$(ns)
  cgcreate -g cpu,memory:/v2bench-cg/c$i && cgset -r cpu.max="50000 100000" v2bench-cg/c$i && cgset -r memory.max=256M v2bench-cg/c$i \
    && cgexec -g cpu,memory:/v2bench-cg/c$i /bin/true && cgdelete -g cpu,memory:/v2bench-cg/c$i
  b=$(ns)
  tc+=($((b - a)))
  rm -rf "$state/jobs/b$i" "$state/jobs/n$i"
done
rmdir /sys/fs/cgroup/v2bench /sys/fs/cgroup/v2bench-cg 2>/dev/null
rm -rf "$state"
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mf=$(median "${tf[@]}"); mc=$(median "${tc[@]}"); mn=$(median "${tn[@]}"); mb=$(median "${tb[@]}")
echo "run-latency-v2: $(date -u +%FT%TZ) $(uname -r) in a QEMU TCG VM (virtme-ng), cgroup v2, $rounds alternating rounds, ffrtmp from .build/$build"
echo "ffrtmp run (cpu+memory limits, shim, exit record, cleanup) / cgcreate+cgset+cgset+cgexec+cgdelete, medians: $(awk -v f="$mf" -v c="$mc" 'BEGIN {printf "%.2f", f / c}')"
echo "(absolute medians under TCG, not comparable to a real host: ${mf} us against ${mc} us)"
echo "where it goes, as shares of the governed ffrtmp run: the same run with no cgroups $(awk -v n="$mn" -v f="$mf" 'BEGIN {printf "%.2f", n / f}'), a bare /bin/true from bash $(awk -v b="$mb" -v f="$mf" 'BEGIN {printf "%.2f", b / f}')"
