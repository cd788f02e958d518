#!/usr/bin/env bash
# Host side of the second cgroup v2 suite (scripts/v2/suite.sh; the CI lane is
# scripts/test_v2.sh with scripts/v2lane/). Boots ONE VM with a real cgroup v2 kernel
# (virtme-ng on Debian's kernel, QEMU without KVM: nested KVM hangs here) on this host's root
# filesystem, read-only, and runs the suite inside against the binaries built here: cpu.max,
# memory.max (OOM), pids.max, io.max and cpu.weight measured by the kernel's own counters,
# placement before exec, --timeout, kill with setsid escapees (the TERM phase and the cgroup-wide
# SIGKILL), kill -9 of ffrtmp run, orphans, attach and detach, ps --json usage, an agent with a
# master on loopback, the console in tmux, clean-up.
#
#   sudo scripts/v2/run.sh          (FFRTMP_BIN_DIR=DIR to use other binaries)
#
# Prints the suite's results and then "N passed, M failed"; exits 1 when a check failed, when
# the VM timed out (V2_TIMEOUT, default 480 s), or when it wrote no complete results file.
# Installs what it needs (scripts/install-deps.sh v2), keeps the virtme-ng venv in
# .build/vng-venv (reused). The disk images and the VM's results dir are temp files, removed at
# the end with the VM's processes. V2_KEEP=DIR copies the results, logs and console screen there.
# V2_DRIVER=none runs the same suite without cgroups: a negative control, most checks must fail.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${FFRTMP_BIN_DIR:-$repo/.build/debug}
BIN=$(cd "$BIN" && pwd)
VENV=$repo/.build/vng-venv
TIMEOUT=${V2_TIMEOUT:-480}
lane_t0=$SECONDS

[ "$(id -u)" = 0 ] || { echo "needs root (qemu, the kernel image in /boot)" >&2; exit 1; }
for b in ffrtmp ffrtmp-agent ffrtmp-console ffrtmp-master ffrtmp-shim ffrtmp-testload; do
  [ -x "$BIN/$b" ] || { echo "missing $BIN/$b: build first (swift build && scripts/build-shim.sh) or set FFRTMP_BIN_DIR" >&2; exit 1; }
done
"$repo/scripts/install-deps.sh" v2
# Debian's generic kernel (the cloud flavour lacks drivers virtme-ng needs), the newest one.
KERNEL=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | grep -v cloud | sort -V | tail -n 1)
[ -n "$KERNEL" ] || { echo "no /boot/vmlinuz-*-amd64 (apt-get install linux-image-amd64)" >&2; exit 1; }
if [ ! -x "$VENV/bin/vng" ]; then
  rm -rf "$VENV"
  /usr/bin/python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --no-cache-dir virtme-ng
fi

T="" RW="" VM_PID=""
cleanup() {
  local rc=$?
  set +e
  # timeout(1) leads a process group of its own (setpgid): the group holds vng and its qemu.
  if [ -n "$VM_PID" ]; then
    kill -KILL -- "-$VM_PID" 2>/dev/null
    wait "$VM_PID" 2>/dev/null
  fi
  [ -n "$T" ] && rm -rf "$T"
  [ -n "$RW" ] && rm -rf "$RW"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T=$(mktemp -d /tmp/ffrtmp-v2-disks-XXXXXX)
RW=$(mktemp -d /tmp/ffrtmp-v2-rw-XXXXXX)
chmod 755 "$RW"
# Sparse raw images: /dev/vda for io.max (dd O_DIRECT), /dev/vdb for swap.
truncate -s 256M "$T/io.img"
truncate -s 128M "$T/swap.img"

echo "# v2 suite: kernel $KERNEL, binaries $BIN, VM timeout $TIMEOUT s"
vm_t0=$SECONDS
PATH=$VENV/bin:$PATH timeout --kill-after=15 "$TIMEOUT" \
  vng --disable-kvm -r "$KERNEL" --memory 2G --cpus 2 --rwdir "$RW" \
    --disk "$T/io.img" --disk "$T/swap.img" \
    --exec "V2_BIN=$BIN V2_REPO=$repo V2_RW=$RW V2_DRIVER=${V2_DRIVER:-v2} V2_IO_DEV=/dev/vda V2_SWAP_DEV=/dev/vdb bash $repo/scripts/v2/suite.sh" \
    < /dev/null > "$T/vng.log" 2>&1 &
VM_PID=$!
# Boot time as the host sees it: until the suite's first line appears.
boot_s=""
while kill -0 "$VM_PID" 2>/dev/null; do
  if [ -z "$boot_s" ] && [ -s "$RW/results.txt" ]; then boot_s=$((SECONDS - vm_t0)); fi
  sleep 0.5
done
vm_rc=0; wait "$VM_PID" || vm_rc=$?
VM_PID=""
vm_s=$((SECONDS - vm_t0))

if [ -s "$RW/results.txt" ]; then cat "$RW/results.txt"; fi
bad=""
case $vm_rc in 124 | 137) bad="the VM timed out after $TIMEOUT s" ;; esac
[ -s "$RW/results.txt" ] || bad="${bad:+$bad; }the VM wrote no results file"
[ -n "$bad" ] || grep -q '^# suite finished' "$RW/results.txt" || bad="the suite did not finish (it stopped after $(grep -c '^\(not \)\?ok ' "$RW/results.txt") checks)"
if [ -n "${V2_KEEP:-}" ]; then mkdir -p "$V2_KEEP"; cp -r "$RW"/. "$V2_KEEP"/; cp "$T/vng.log" "$V2_KEEP"/; fi
if [ -n "$bad" ] || grep -q '^not ok ' "$RW/results.txt" 2>/dev/null; then
  echo "# --- tail of the VM's console (vng):"; tail -n 15 "$T/vng.log" | sed 's/^/# /'
  [ -f "$RW/suite.log" ] && { echo "# --- tail of suite.log:"; tail -n 25 "$RW/suite.log" | sed 's/^/# /'; }
fi
# Checks marked "# KNOWN BUG" count neither way.
passed=$(grep '^ok ' "$RW/results.txt" 2>/dev/null | grep -vc '# KNOWN BUG' || true)
failed=$(grep '^not ok ' "$RW/results.txt" 2>/dev/null | grep -vc '# KNOWN BUG' || true)
knownb=$(grep -c '# KNOWN BUG' "$RW/results.txt" 2>/dev/null || true)
echo "# VM: ${boot_s:-?} s to the suite's first line, $vm_s s in all; known bugs: ${knownb:-0}; whole run $((SECONDS - lane_t0)) s"
if [ -n "$bad" ]; then
  echo "# FAILED: $bad"
  failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
