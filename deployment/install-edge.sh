#!/usr/bin/env bash
# Installs ffrtmp on an edge box: binaries, the ffrtmp group, the ffrtmp-job user (JOB_USER) and
# its media root /var/lib/ffrtmp/media, /etc/ffrtmp/worker.env (never overwritten), the systemd units. Idempotent: a second run changes nothing and says so.
#
#   deployment/install-edge.sh [--prefix DIR] [--dry-run] [--from BINDIR] [--install-deps]
#
#   --prefix DIR     install into DIR instead of / (for tests and image builds)
#   --dry-run        print what would be done, change nothing
#   --from BINDIR    where ffrtmp and ffrtmp-master are (default: the release build, built if missing)
#   --install-deps   apt-get install ffmpeg and GStreamer when they are missing
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
prefix="" dry=0 from="" deps=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --dry-run) dry=1; shift ;;
    --from) from=${2:?--from needs a directory}; shift 2 ;;
    --install-deps) deps=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "install-edge.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
root=${prefix%/}
changed=0
say() { printf '%s\n' "$*"; }
run() { if [ $dry = 1 ]; then say "would: $*"; else "$@"; fi; }

# Checks: what this box offers. Nothing here is fatal except a missing binary.
say "kernel: $(uname -r)"
case "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" in
  cgroup2fs) say "cgroups: v2 (unified)" ;;
  tmpfs) say "cgroups: v1/hybrid (controllers: $(ls /sys/fs/cgroup | tr '\n' ' '))" ;;
  *) say "cgroups: none found: jobs will run with governance degraded" ;;
esac
if [ -d /run/systemd/system ]; then systemd=1; say "systemd: running"; else systemd=0; say "systemd: not PID 1 (units are installed, not started)"; fi
for tool in ffmpeg gst-launch-1.0; do
  if command -v $tool >/dev/null; then say "$tool: $(command -v $tool)"; else say "$tool: missing"; fi
done
if [ $deps = 1 ] && ! command -v ffmpeg >/dev/null; then
  run apt-get install -y ffmpeg gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly
fi

if [ -z "$from" ]; then
  from="$repo/.build/release"
  if [ ! -x "$from/ffrtmp" ]; then run bash -c "cd '$repo' && swift build -c release --static-swift-stdlib"; fi
  [ $dry = 1 ] || "$repo/scripts/build-shim.sh"
fi
shim=$(ls "$from"/../libexec/ffrtmp/ffrtmp-shim 2>/dev/null || ls "$repo"/.build/*/libexec/ffrtmp/ffrtmp-shim 2>/dev/null | head -1 || true)
for b in "$from/ffrtmp" "$from/ffrtmp-master" "$from/ffrtmp-console" "$from/ffrtmp-agent" "$shim"; do
  [ -x "$b" ] || [ $dry = 1 ] || { echo "install-edge.sh: missing binary $b (build first, or pass --from)" >&2; exit 1; }
done

# install_file SRC DEST MODE: copies only when the content differs.
install_file() {
  if [ -e "$2" ] && cmp -s "$1" "$2"; then say "unchanged: $2"; return; fi
  run install -D -m "$3" "$1" "$2"
  say "installed: $2"
  changed=1
}
install_file "$from/ffrtmp" "$root/usr/local/bin/ffrtmp" 0755
install_file "$from/ffrtmp-master" "$root/usr/local/bin/ffrtmp-master" 0755
install_file "$shim" "$root/usr/local/libexec/ffrtmp/ffrtmp-shim" 0755
# The console's ncurses front end: `ffrtmp console` runs it from ../libexec/ffrtmp/.
install_file "$from/ffrtmp-console" "$root/usr/local/libexec/ffrtmp/ffrtmp-console" 0755
# The worker daemon and master client: `ffrtmp agent` and `ffrtmp jobs` run it from ../libexec/ffrtmp/.
install_file "$from/ffrtmp-agent" "$root/usr/local/libexec/ffrtmp/ffrtmp-agent" 0755
for u in ffrtmp-worker.service ffrtmp-master.service; do
  install_file "$here/systemd/$u" "$root/etc/systemd/system/$u" 0644
done
install_file "$here/systemd/user@.service.d-delegate.conf" "$root/usr/local/share/ffrtmp/user@.service.d-delegate.conf" 0644
install_file "$here/worker.env.example" "$root/usr/local/share/ffrtmp/worker.env.example" 0644
install_file "$here/master.env.example" "$root/usr/local/share/ffrtmp/master.env.example" 0644

# worker.env: written once from the example, never overwritten (it holds the operator's settings).
if [ -e "$root/etc/ffrtmp/worker.env" ]; then
  say "kept: $root/etc/ffrtmp/worker.env (existing settings are never overwritten)"
else
  run install -D -m 0640 "$here/worker.env.example" "$root/etc/ffrtmp/worker.env"
  say "installed: $root/etc/ffrtmp/worker.env (from the example: WRAPPER_ENABLED=false)"
  changed=1
fi

# The media root: jobs' local files live here (MEDIA_ROOTS), owned by the user they run as.
media="$root/var/lib/ffrtmp/media"
if [ -d "$media" ]; then say "kept: $media"; else run install -d -m 0750 "$media"; say "created: $media (0750)"; changed=1; fi

# The ffrtmp group may use the agent's control socket (the console over SSH).
if [ -z "$root" ]; then
  if getent group ffrtmp >/dev/null; then say "group ffrtmp: exists"; else run groupadd --system ffrtmp; say "group ffrtmp: created"; changed=1; fi
  # JOB_USER: every workload of the agent runs as this unprivileged user, never as root.
  if getent passwd ffrtmp-job >/dev/null; then say "user ffrtmp-job: exists"
  else run useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group ffrtmp-job; say "user ffrtmp-job: created"; changed=1; fi
  if [ "$(stat -c %U:%a "$media" 2>/dev/null)" != "ffrtmp-job:750" ]; then run chown ffrtmp-job: "$media"; run chmod 0750 "$media"; say "media root owned by ffrtmp-job"; changed=1; fi
  if [ $systemd = 1 ] && [ $changed = 1 ]; then run systemctl daemon-reload; fi
else
  say "group ffrtmp: not created under --prefix (create it on the target: groupadd --system ffrtmp)"
  say "user ffrtmp-job: not created under --prefix (on the target: useradd --system --no-create-home --shell /usr/sbin/nologin --user-group ffrtmp-job; chown ffrtmp-job: /var/lib/ffrtmp/media)"
fi

if [ $changed = 0 ]; then say "nothing to do: already installed"; fi
cat <<NEXT
next steps:
  1. edit $root/etc/ffrtmp/worker.env (MASTER_URL, the key in /etc/ffrtmp/api.key, WRAPPER_ENABLED, MEDIA_ROOTS)
  2. systemctl enable --now ffrtmp-worker.service
  3. ffrtmp ps; curl -s localhost:9464/metrics | grep platform_sla
NEXT
