# Shared by the scripts that start real jobs (benchmarks, screenshots). Source it.

# Every cgroup mount point (v1 hierarchies and the v2 mount), from /proc/self/mountinfo.
ffrtmp_cgroup_mounts() {
  awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup" || $(i + 1) == "cgroup2") print $5; break } }' /proc/self/mountinfo
}

# ffrtmp_cleanup_jobs PARENT STATE_DIR: kills every process in the job cgroups under PARENT
# (by pid from cgroup.procs, never by name), waits for the jobs' shims to exit, then removes
# the cgroups in every hierarchy. Never fails: it runs from EXIT traps.
ffrtmp_cleanup_jobs() {
  local parent=$1 state=$2 m d j pid f
  for m in $(ffrtmp_cgroup_mounts); do
    d=$m/$parent
    [ -d "$d" ] || continue
    for j in "$d"/*/; do
      [ -f "$j/cgroup.procs" ] || continue
      if [ -f "$j/freezer.state" ]; then echo THAWED > "$j/freezer.state" 2>/dev/null || true; fi
      for pid in $(cat "$j/cgroup.procs" 2>/dev/null || true); do kill -KILL "$pid" 2>/dev/null || true; done
    done
  done
  for f in "$state"/jobs/*/shim.pid; do
    [ -f "$f" ] || continue
    pid=$(cut -d' ' -f1 "$f" 2>/dev/null || true)
    [ -n "$pid" ] || continue
    for _ in $(seq 100); do [ -d /proc/"$pid" ] || break; sleep 0.05; done
  done
  for m in $(ffrtmp_cgroup_mounts); do
    d=$m/$parent
    [ -d "$d" ] || continue
    for _ in $(seq 50); do
      find "$d" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
      rmdir "$d" 2>/dev/null && break
      sleep 0.1
    done
  done
  return 0
}
