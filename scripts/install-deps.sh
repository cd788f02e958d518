#!/usr/bin/env bash
# Installs the Debian packages a task needs, only when they are missing.
# Usage: scripts/install-deps.sh test|run|bench|screenshots|v2
set -euo pipefail
want=()
need() { command -v "$1" >/dev/null 2>&1 || want+=("$2"); }
case "${1:-test}" in
  # prometheus: promtool and the server, for scripts/test_monitoring.sh. On a host where systemd
  # runs, Debian's package also enables and starts prometheus.service on :9090 (not in containers).
  test)  need ffmpeg ffmpeg; need tmux tmux; need setfacl acl; [ -e /usr/include/ncursesw/curses.h ] || want+=(libncursesw5-dev); need curl curl; need jq jq; need python3 python3; need systemd-analyze systemd; need promtool prometheus; [ -d /usr/lib/postgresql ] || want+=(postgresql); [ -e /usr/include/sqlite3.h ] || want+=(libsqlite3-dev) ;;
  run)   need ffmpeg ffmpeg; [ -e /usr/include/ncursesw/curses.h ] || want+=(libncursesw5-dev); [ -e /usr/include/sqlite3.h ] || want+=(libsqlite3-dev) ;;
  bench) need ffmpeg ffmpeg; need htop htop; need tmux tmux; [ -e /usr/include/ncursesw/curses.h ] || want+=(libncursesw5-dev); need cgcreate cgroup-tools; need hyperfine hyperfine ;;
  # The cgroup v2 lane (scripts/test_v2.sh): QEMU, Debian's kernel image, virtme-ng's needs (a
  # static busybox for its initramfs, venv for the PyPI install), and what the suite runs inside.
  v2)    need qemu-system-x86_64 qemu-system-x86; ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1 || want+=(linux-image-amd64)
         dpkg -s busybox-static >/dev/null 2>&1 || want+=(busybox-static); /usr/bin/python3 -c 'import ensurepip' 2>/dev/null || want+=(python3-venv)
         need ffmpeg ffmpeg; need tmux tmux; need jq jq; need curl curl; need cgcreate cgroup-tools ;;
  screenshots) need tmux tmux; need aha aha; need chromium chromium; [ -e /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || want+=(fonts-dejavu-core); [ -e /usr/include/ncursesw/curses.h ] || want+=(libncursesw5-dev) ;;
  *) echo "usage: $0 test|run|bench|screenshots|v2" >&2; exit 2 ;;
esac
command -v swift >/dev/null 2>&1 || { echo "swift is not on PATH (Swift 6.x is required)" >&2; exit 1; }
if [ ${#want[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "missing packages: ${want[*]} (run as root or apt-get install them)" >&2; exit 1; fi
  echo "installing: ${want[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
fi
