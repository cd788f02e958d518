#!/usr/bin/env bash
# Renders the console's screens to PNGs in screenshots/, from real data: a standalone agent,
# wrapped ffmpeg test transcodes with limits, a finished and a failed job, an orphan (its
# shim killed with -9) and an ungoverned ffmpeg. The console runs in a private tmux server;
# capture-pane -e keeps the colours, aha turns them into HTML and headless chromium into PNG.
# Usage: scripts/screenshots.sh   (root; FFRTMP_BIN_DIR picks the binaries, default: a debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
. scripts/lib/harness.sh
[ "$(id -u)" = 0 ] || { echo "needs root (cgroups)" >&2; exit 1; }
scripts/install-deps.sh screenshots
if [ -z "${FFRTMP_BIN_DIR:-}" ]; then
  swift build >/dev/null
  scripts/build-shim.sh
  bin=$PWD/.build/debug
else
  bin=$FFRTMP_BIN_DIR
fi
out=$PWD/screenshots
mkdir -p "$out"
work=$(mktemp -d /tmp/ffrtmp-shots-XXXXXX)
state=$work/state
parent=ffrtmp-shots-$$
sock=ffrtmp-shots-$$
export FFRTMP_STATE_DIR=$state FFRTMP_CGROUP_PARENT=/$parent
pids=()

cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null || true
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  cgroup_cleanup "$parent"
  wait_shims "$state"
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$state" "$work/media"; chown nobody: "$work/media"
printf 'NODE_ID=edge-1\nWRAPPER_ENABLED=true\nFFMPEG_PATH=/usr/bin/ffmpeg\nWRAPPER_DEFAULT_MEMORY_MAX_MB=512\nJOB_USER=nobody\nMEDIA_ROOTS=%s/media\n' "$work" > "$work/worker.env"
"$bin/ffrtmp" agent --config "$work/worker.env" > "$work/agent.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$state/agent.sock" ] && break; sleep 0.1; done

# Real work: two test transcodes through the agent, one tighter job from the CLI,
# a finished job, a failed one, an OOM-killed one, an orphan and an ungoverned ffmpeg.
"$bin/ffrtmp" ctl '{"op":"launch_test","duration_seconds":600,"cpu_max":"80000 100000","memory_max_mb":384}' >/dev/null
"$bin/ffrtmp" ctl '{"op":"launch_test","duration_seconds":600,"cpu_max":"30000 100000","memory_max_mb":256}' >/dev/null
"$bin/ffrtmp" run --detach --job-id cam-lobby --cpu-percent 40 --memory-max-mb 200 -- /usr/bin/ffmpeg -nostdin -hide_banner -loglevel error \
  -progress "file:$state/jobs/cam-lobby/progress" -re -f lavfi -i testsrc2=size=320x240:rate=25 -t 600 -c:v libx264 -preset ultrafast -f null - >/dev/null
"$bin/ffrtmp" run --job-id vod-ok -- /usr/bin/ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i testsrc=size=160x120:rate=10 -t 1 -f null - >/dev/null
"$bin/ffrtmp" run --job-id vod-bad-input -- /usr/bin/ffmpeg -nostdin -hide_banner -loglevel error -i "$work/missing.mp4" -f null - >/dev/null 2>&1 || true
# An OOM kill: a workload that wants 300 MB under a 32 MB limit.
"$bin/ffrtmp" run --job-id vod-oom --memory-max-mb 32 -- "$bin/ffrtmp-testload" alloc 300 >/dev/null 2>&1 || true
"$bin/ffrtmp" run --detach --job-id cam-dock -- /usr/bin/ffmpeg -nostdin -hide_banner -loglevel error -re -f lavfi -i testsrc=size=320x240:rate=25 \
  -t 600 -f null - >/dev/null
kill -KILL "$(cut -d' ' -f1 "$state/jobs/cam-dock/shim.pid")"
setsid /usr/bin/ffmpeg -nostdin -hide_banner -loglevel error -re -f lavfi -i testsrc=size=160x120:rate=10 -t 600 -f null - > /dev/null 2>&1 &
pids+=($!)
sleep 3

tmux -L "$sock" -f /dev/null new-session -d -x 120 -y 34 -s c \
  /usr/bin/env TERM=tmux-256color LANG=C.UTF-8 USER=operator "$bin/ffrtmp" console
sleep 3

shot() {  # shot NAME: the pane as it is now, in colour, to screenshots/NAME.png
  tmux -L "$sock" capture-pane -e -p -t c > "$work/$1.ansi"
  # Reverse video (SGR 7) as explicit black on white: aha renders a bare 7 only sometimes.
  # (tmux follows reverse with default-colour codes, which would undo the explicit colours.)
  perl -pe 's/(\e\[(?:[0-9]*;)*7m)\e\[39m\e\[49m/$1/g; s/\e\[([0-9;]*)m/"\e[" . join(";", map { $_ eq "7" ? "30;47" : $_ } split(";", $1)) . "m"/ge' "$work/$1.ansi" \
    | aha --black --title "ffrtmp console" \
    | sed 's#</head>#<style>pre{font:15px/1.0 "DejaVu Sans Mono",monospace;margin:8px}</style></head>#' > "$work/$1.html"
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1120,540 \
    --screenshot="$out/$1.png" "file://$work/$1.html" > /dev/null 2>&1
  [ -s "$out/$1.png" ] || { echo "screenshot $1 failed" >&2; exit 1; }
  echo "screenshots/$1.png" >&2
}
grep -q cam-lobby <(tmux -L "$sock" capture-pane -p -t c) || { echo "the console does not show the jobs" >&2; exit 1; }
shot console-main
tmux -L "$sock" send-keys -t c / cam-lobby Enter Enter
sleep 2
shot console-detail
tmux -L "$sock" send-keys -t c l
sleep 2
shot console-log
tmux -L "$sock" send-keys -t c Escape Escape Escape a
sleep 1
shot console-orphans
tmux -L "$sock" send-keys -t c Escape '?'
sleep 1
shot console-help
tmux -L "$sock" send-keys -t c Escape q
