#!/usr/bin/env bash
# `ffrtmp run` start-up and size, one edge binary against another in the same run (e.g. before
# and after moving the agent into ffrtmp-agent). Needs root (a governed run creates cgroups).
#
#   scripts/bench/cli-split.sh OLD_FFRTMP NEW_FFRTMP [RUNS]
#
# Both binaries use the same shim (SHIM, default the repo's build) and a private state dir and
# cgroup parent, removed afterwards. Prints hyperfine's medians for a governed `run -- /bin/true`
# and an early-exit `ps` of an empty journal, and each binary's size.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
old=${1:?old ffrtmp binary} new=${2:?new ffrtmp binary} runs=${3:-200}
command -v hyperfine >/dev/null || { echo "hyperfine missing (scripts/install-deps.sh bench)" >&2; exit 1; }
shim=${SHIM:-$(ls "$repo"/.build/*/libexec/ffrtmp/ffrtmp-shim | head -1)}
work=$(mktemp -d /tmp/ffrtmp-cli-split-XXXXXX)
parent=ffrtmp-cli-split-$$
cleanup() {
  for c in cpu cpuacct memory blkio pids freezer; do
    [ -d "/sys/fs/cgroup/$c/$parent" ] && find "/sys/fs/cgroup/$c/$parent" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null
    rmdir "/sys/fs/cgroup/$c/$parent" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
export FFRTMP_SHIM=$shim FFRTMP_CGROUP_PARENT=$parent
mkdir -p "$work/empty"
echo "sizes: old $(stat -c %s "$old") bytes, new $(stat -c %s "$new") bytes"
hyperfine -N --warmup 20 --runs "$runs" --export-json "$work/run.json" \
  -n old "$old run --state-dir $work/s-old --cpu-percent 50 --memory-max-mb 64 -- /bin/true" \
  -n new "$new run --state-dir $work/s-new --cpu-percent 50 --memory-max-mb 64 -- /bin/true" >/dev/null
hyperfine -N --warmup 20 --runs "$runs" --export-json "$work/ps.json" \
  -n old "$old ps --state-dir $work/empty" -n new "$new ps --state-dir $work/empty" >/dev/null
for b in run ps; do
  jq -r --arg b "$b" '.results | map("\($b) \(.command): median \((.median * 1e6 | floor)) us") | .[]' "$work/$b.json"
  jq -r --arg b "$b" '.results as $r | "\($b) ratio new/old: \(($r[1].median / $r[0].median * 100 | floor) / 100)"' "$work/$b.json"
done
