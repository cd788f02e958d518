#!/usr/bin/env bash
# The console's own cost next to htop's, on the same box at the same time: CPU time over a
# WINDOW-second window at a 1 s refresh with JOBS live governed jobs (each a shim and a
# sleeping workload in its own cgroup), and the bytes each writes to its terminal per
# refresh while nothing changes on screen. Both run side by side in one private tmux server
# (120x40), so they see the same load; tmux pipe-pane counts the bytes.
# Usage: scripts/bench/console-vs-htop.sh [JOBS=200] [WINDOW=60] [ROUNDS=3]
#        (root; release build unless FFRTMP_BIN_DIR is set; writes docs/bench/console-vs-htop.txt)
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
. scripts/lib/harness.sh
jobs=${1:-200}
window=${2:-60}
rounds=${3:-3}
[ "$(id -u)" = 0 ] || { echo "needs root (cgroups)" >&2; exit 1; }
scripts/install-deps.sh bench
if [ -z "${FFRTMP_BIN_DIR:-}" ]; then
  swift build -c release --static-swift-stdlib >/dev/null
  scripts/build-shim.sh
  bin=$PWD/.build/release
else
  bin=$FFRTMP_BIN_DIR
fi
state=$(mktemp -d /tmp/ffrtmp-bench-console-XXXXXX)
parent=ffrtmp-bench-console-$$
sock=ffrtmp-bench-console-$$
out=docs/bench/console-vs-htop.txt
export FFRTMP_STATE_DIR=$state FFRTMP_CGROUP_PARENT=/$parent

cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null || true
  cgroup_cleanup "$parent"
  wait_shims "$state"
  rm -rf "$state"
}
trap cleanup EXIT

echo "starting $jobs governed jobs..." >&2
for i in $(seq "$jobs"); do
  "$bin/ffrtmp" run --detach --job-id "bench-$i" --cpu-percent 50 --memory-max-mb 64 -- /bin/sleep 3600 >/dev/null
done

# CPU time in ns: the first field of /proc/PID/schedstat (time on CPU), else utime+stime ticks.
cpu_ns() {
  if [ -r /proc/$1/schedstat ]; then cut -d' ' -f1 /proc/$1/schedstat
  else awk -v hz="$(getconf CLK_TCK)" '{print ($14+$15)*1e9/hz}' "/proc/$1/stat"; fi
}
size() { stat -c %s "$1" 2>/dev/null || echo 0; }

tmux -L "$sock" -f /dev/null new-session -d -x 120 -y 40 -s console \
  /usr/bin/env TERM=tmux-256color LANG=C.UTF-8 "$bin/ffrtmp" console --interval 1
tmux -L "$sock" new-session -d -x 120 -y 40 -s htop /usr/bin/env TERM=tmux-256color LANG=C.UTF-8 htop -d 10
tmux -L "$sock" pipe-pane -t console -o "cat >> $state/console.tty"
tmux -L "$sock" pipe-pane -t htop -o "cat >> $state/htop.tty"
cpid=$(tmux -L "$sock" display-message -p -t console '#{pane_pid}')
hpid=$(tmux -L "$sock" display-message -p -t htop '#{pane_pid}')
sleep 5
grep -q "bench-1" <(tmux -L "$sock" capture-pane -p -t console) || { echo "the console does not show the jobs" >&2; tmux -L "$sock" capture-pane -p -t console >&2; exit 1; }

results=()
for r in $(seq "$rounds"); do
  c0=$(cpu_ns "$cpid"); h0=$(cpu_ns "$hpid"); cb0=$(size "$state/console.tty"); hb0=$(size "$state/htop.tty")
  sleep "$window"
  c1=$(cpu_ns "$cpid"); h1=$(cpu_ns "$hpid"); cb1=$(size "$state/console.tty"); hb1=$(size "$state/htop.tty")
  line=$(awk -v c="$((c1 - c0))" -v h="$((h1 - h0))" -v cb="$((cb1 - cb0))" -v hb="$((hb1 - hb0))" -v w="$window" -v r="$r" \
    'BEGIN { printf "round %d: console %.3f s CPU (%.2f%% of a core), htop %.3f s (%.2f%%), ratio %.2f; tty bytes per refresh: console %.0f, htop %.0f\n", r, c/1e9, c/1e7/w, h/1e9, h/1e7/w, (h > 0 ? c/h : 0), cb/w, hb/w }')
  echo "$line" >&2
  results+=("$((c1 - c0)) $((h1 - h0)) $((cb1 - cb0)) $((hb1 - hb0))")
done

summary=$(printf '%s\n' "${results[@]}" | awk -v w="$window" '
  { c[NR]=$1; h[NR]=$2; ratio[NR]=($2 > 0 ? $1/$2 : 0); cb[NR]=$3/w; hb[NR]=$4/w }
  function median(a, n,   i, j, t, s) { for (i = 1; i <= n; i++) s[i] = a[i]
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (s[j] < s[i]) { t = s[i]; s[i] = s[j]; s[j] = t }
    return n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2 }
  END { n = NR
    printf "median over %d rounds of %d s: console %.3f s CPU (%.2f%% of a core), htop %.3f s (%.2f%%), console/htop ratio %.2f\n", n, w, median(c, n)/1e9, median(c, n)/1e7/w, median(h, n)/1e9, median(h, n)/1e7/w, median(ratio, n)
    printf "tty bytes per 1 s refresh (median): console %.0f, htop %.0f\n", median(cb, n), median(hb, n) }')

{
  echo "# Console vs htop: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: $(nproc) cores, kernel $(uname -r), $(grep -c ' cgroup ' /proc/self/mountinfo) cgroup v1 mounts; htop $(htop --version | head -1 | awk '{print $2}')"
  echo "load: $jobs governed jobs (/bin/sleep, each with its shim: $((jobs * 2)) processes), $(ls /proc | grep -c '^[0-9]') processes on the box"
  echo "both at a 1 s refresh (console --interval 1, htop -d 10) in 120x40 tmux panes, side by side"
  printf '%s\n' "$summary"
} | tee "$out"
