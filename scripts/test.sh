#!/usr/bin/env bash
# The whole test suite: unit tests, and integration tests against real processes and
# real cgroupfs (as root; without root those skip and say why).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
swift build
scripts/build-shim.sh
# The master's store suite also runs against a real PostgreSQL, started here on loopback.
if [ "$(id -u)" = 0 ]; then
  pgdir=$(mktemp -d /tmp/ffrtmp-pg-XXXXXX)
  trap 'scripts/pg-test-server.sh stop "$pgdir"' EXIT
  export FFRTMP_TEST_POSTGRES_URL=$(scripts/pg-test-server.sh start "$pgdir" 54329)
else
  echo "not root: the PostgreSQL store tests will be skipped" >&2
fi
swift test
# Chaos (quick, about 70 s): agent kill -9 loop, master outage, full disk, torn journal files.
if [ "$(id -u)" = 0 ]; then scripts/chaos/run.sh --quick; fi
# Deployment: install-edge.sh into a temp prefix (twice), systemd-analyze verify on the units.
if [ "$(id -u)" = 0 ]; then scripts/test_deployment.sh; fi
# Behavioural checks of the wrapper against the real master, agent, ffmpeg and cgroupfs.
scripts/test_wrapper_integration.sh
# Auto-attach against a real agent and master: dry run, adoption with the default limits while
# ffmpeg's frames go on, groups that are never moved, refusals kept by identity (also in the v2 lane).
scripts/test_auto_attach.sh
# The job-file boundary, as an attacker tries it: symlinks, hard links, FIFOs, devices, a racing
# symlink swap, /root and /run, workload identity, output limits, refused configurations.
scripts/test_hostile_paths.sh
# Fleet scale, quick: 2,000 simulated nodes (each its own key) for 30 s against two masters on one
# PostgreSQL; fails on any lost or duplicated job, never on a time (docs/BENCHMARKS.md).
if [ "$(id -u)" = 0 ]; then scripts/bench/fleet-scale.sh --quick; fi
# Monitoring: promtool checks and unit tests, then a real agent, two masters and Prometheus on 127.0.0.1.
scripts/test_monitoring.sh
# cgroup v2 on a real v2 kernel: Debian's kernel booted in a VM (virtme-ng, TCG) on this root
# filesystem; limits, kill, crash safety, attach, orphans, delegation, the agent and the console.
if [ "$(id -u)" = 0 ]; then scripts/test_v2.sh; fi
