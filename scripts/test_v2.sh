#!/usr/bin/env bash
# The cgroup v2 lane: boots Debian's own kernel (linux-image-amd64) in QEMU with virtme-ng, on
# this host's root filesystem (read-only), and runs scripts/v2lane/suite.sh inside against the
# binaries already built here. The VM is a real cgroup v2 host (cpu io memory pids offered at the
# root), which our v1-hybrid machines are not. TCG only: nested KVM hangs on these machines
# (../shared/ENVIRONMENT.md). One boot, about 45-80 s; the whole lane stays under 12 minutes (about
# 7 with the auto-attach suite, whose agent, master and CLI starts are slow under emulation).
# Prints the suite's lines and "N passed, M failed"; exits non-zero on any failure, a timeout,
# or a VM that produced no results. V2_BENCH=1 also measures start latency against cgexec in the
# same VM (scripts/v2lane/run-latency.sh; written to docs/bench/run-latency-v2.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
if [ "$(id -u)" != 0 ]; then echo "test_v2: skipped, needs root (qemu, the host's kernel image, apt)"; exit 0; fi
scripts/install-deps.sh v2
BIN=${FFRTMP_BIN_DIR:-$repo/.build/debug}
for b in ffrtmp ffrtmp-agent ffrtmp-master ffrtmp-console ffrtmp-testload; do
  [ -x "$BIN/$b" ] || { echo "test_v2: missing $BIN/$b: build first (swift build && scripts/build-shim.sh)" >&2; exit 1; }
done
# virtme-ng from PyPI, in a venv inside the clone (nothing cached outside it).
venv=$repo/.build/vng-venv
if [ ! -x "$venv/bin/vng" ]; then
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q virtme-ng
fi
kernel=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -1)
[ -n "$kernel" ] || { echo "test_v2: no /boot/vmlinuz-*-amd64 (linux-image-amd64)" >&2; exit 1; }
work=$(mktemp -d /tmp/ffrtmp-v2-XXXXXX)
rw=$work/rw
mkdir -p "$rw"
vng_pgid=""
cleanup() {
  # vng and the qemu it starts run in a process group of their own (setsid below): end that
  # group, by the id we recorded, if anything of it is left.
  if [ -n "$vng_pgid" ] && kill -0 -- "-$vng_pgid" 2>/dev/null; then kill -KILL -- "-$vng_pgid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
# Two virtio disks: /dev/vda for io.max, /dev/vdb for swap (sparse files, removed afterwards).
truncate -s 128M "$work/io.img"
truncate -s 512M "$work/swap.img"
started=$(date +%s)
set +e
PATH=$venv/bin:$PATH setsid timeout --kill-after=10 720 vng --disable-kvm -r "$kernel" --memory 1G --cpus 2 \
  --rwdir "$rw" --disk "$work/io.img" --disk "$work/swap.img" \
  --exec "env V2_BIN=$BIN V2_REPO=$repo V2_OUT=$rw V2_BENCH=${V2_BENCH:-0} bash $repo/scripts/v2lane/suite.sh" > "$work/vng.log" 2>&1 &
vng_pgid=$!
wait "$vng_pgid"
rc=$?
set -e
took=$(( $(date +%s) - started ))
if [ ! -s "$rw/results.txt" ]; then
  echo "test_v2: the VM wrote no results (vng exit $rc after ${took}s); its console:" >&2
  tail -40 "$work/vng.log" >&2
  exit 1
fi
cat "$rw/results.txt"
[ -s "$rw/env.txt" ] && sed 's/^/# /' "$rw/env.txt"
[ -s "$rw/console-v2.txt" ] && { mkdir -p docs/v2; cp "$rw/console-v2.txt" docs/v2/console-v2.txt; }
[ -s "$rw/console-v2-psi.txt" ] && { mkdir -p docs/v2; cp "$rw/console-v2-psi.txt" docs/v2/console-v2-psi.txt; }
[ -s "$rw/auto-attach.txt" ] && { mkdir -p docs/v2; cp "$rw/auto-attach.txt" docs/v2/auto-attach-v2.txt; }
[ -s "$rw/run-latency.txt" ] && { mkdir -p docs/bench; cp "$rw/run-latency.txt" docs/bench/run-latency-v2.txt; }
echo "# VM lane took ${took}s (boot, suite, shutdown)"
summary=$(tail -1 "$rw/results.txt")
case "$summary" in
  *" passed, 0 failed") ;;
  *" passed, "*" failed") exit 1 ;;
  *) echo "test_v2: the suite did not finish (vng exit $rc after ${took}s)" >&2; tail -20 "$work/vng.log" >&2; exit 1 ;;
esac
[ "$rc" = 0 ] || { echo "test_v2: vng exited $rc" >&2; exit 1; }
