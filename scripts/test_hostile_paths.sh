#!/usr/bin/env bash
# Hostile job paths and a hostile box, end to end, against the real binaries: ffrtmp-master
# (SQLite in a temp dir), `ffrtmp agent` running every workload as JOB_USER=nobody with
# MEDIA_ROOTS set to a private media root, real ffmpeg, real cgroupfs. A local "attacker"
# (the daemon user) owns a drop dir inside the root and plants symlinks, hard links, FIFOs
# and devices there, swaps a directory for a symlink in a tight loop, and the agent's own
# configuration and state dir are made untrustworthy. Every check reads what the master, the
# kernel (/proc, stat) or the filesystem says: the canaries outside the root are compared
# byte for byte (sha256) and the outside dir is listed (inode, size, mtime) before and after.
#
#   FFRTMP_BIN_DIR=/path/to/bin scripts/test_hostile_paths.sh
#
# Prints "ok N - name" / "not ok N - name: reason" per test, then "N passed, M failed";
# exits non-zero on any failure. Needs root (users, chown, mknod, cgroupfs); without root it
# skips and exits 0. Uses the first free port of 127.0.0.1:18130-18139 (FFRTMP_HOSTILE_PORT
# moves the range), a private state dir and cgroup parent, and removes every process, cgroup
# and file it created on exit (or on SIGINT/SIGTERM). About 25 s.
#
# The checks read "[ A ] && [ B ] || { f REASON; return; }": f always returns 1, so the
# C branch runs exactly when the check fails, which is the intent.
# shellcheck disable=SC2015  # file-wide: it precedes the first command
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
FFMPEG=${FFMPEG:-/usr/bin/ffmpeg}
PY=/usr/bin/python3

if [ "$(id -u)" != 0 ]; then
  echo "# skipped: needs root (JOB_USER, chown, mknod, real cgroupfs)"
  echo "0 passed, 0 failed (skipped: not root)"
  exit 0
fi

# The agent's settings come from the worker.env files written below, not from the caller's
# environment (the environment would override the file).
# shellcheck source=scripts/lib/checks.sh
. "$repo/scripts/lib/checks.sh"
clear_agent_env

# shellcheck source=scripts/lib/harness.sh
. "$repo/scripts/lib/harness.sh"

T=$(mktemp -d /tmp/ffrtmp-hostile-XXXXXX)
# Searchable by the job user (nobody) and the attacker (daemon), like any path to a media dir.
chmod 0755 "$T"
PARENT=/ffrtmp-hostile-$$
STATE=$T/state        # the agent's
RUNSTATE=$T/runstate  # `ffrtmp run` jobs of tests 12 and 14
MEDIA=$T/media        # MEDIA_ROOTS
DROP=$MEDIA/drop      # writable by the attacker
OUT=$T/outside        # outside every root: the canaries
# shellcheck disable=SC2034  # read by harness.sh's api
AUTH_HDR=$T/auth.hdr
MASTER_PID="" AGENT_PID="" SWAP_PID="" UNREL_PID=""
SYSTEM_OUTPUTS=("/root/ffrtmp-hostile-$$.mp4" "/run/ffrtmp-hostile-$$.mp4" "/lib64/ffrtmp-hostile-$$.mp4" "/run/shm/ffrtmp-hostile-$$.mp4")

# ---------------------------------------------------------------- helpers
# shellcheck source=scripts/lib/hostile_helpers.sh
. "$repo/scripts/lib/hostile_helpers.sh"

# ---------------------------------------------------------------- set-up

for b in ffrtmp ffrtmp-master ffrtmp-shim; do [ -x "$BIN/$b" ] || bail "$BIN/$b not found (build first, or set FFRTMP_BIN_DIR)"; done
[ -x "$FFMPEG" ] || bail "$FFMPEG not found (scripts/install-deps.sh test installs it)"
[ -x "$PY" ] || bail "$PY not found (the race test's swapper needs it)"
for c in curl jq setpriv sha256sum mkfifo mknod timeout setsid; do command -v $c >/dev/null || bail "$c not found"; done
id nobody >/dev/null 2>&1 && id daemon >/dev/null 2>&1 || bail "needs the users nobody and daemon"
NOBODY_UID=$(id -u nobody) NOBODY_GID=$(id -g nobody) DAEMON_UID=$(id -u daemon) DAEMON_GID=$(id -g daemon)
for p in "${SYSTEM_OUTPUTS[@]}"; do [ ! -e "$p" ] || bail "$p exists before the test"; done

# The media root: the job user's (nobody), searchable by the uploaders' group (daemon's), and
# in it the attacker's drop dir, writable by everyone.
mkdir -m 0750 "$MEDIA"
chown "nobody:$DAEMON_GID" "$MEDIA"
mkdir "$DROP"
chown daemon:daemon "$DROP"
chmod 0777 "$DROP"
# Outside every root: a public canary, a root-only secret, a subdir.
mkdir -m 0755 "$OUT" "$OUT/b"
head -c 65536 /dev/urandom > "$OUT/canary"
chmod 0644 "$OUT/canary"
(umask 077; printf 'TOP-SECRET-%s\n' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$OUT/secret")
SECRET_TEXT=$(cat "$OUT/secret")
# The attacker's plants (test numbers in brackets).
as_attacker ln -s "$OUT/canary" "$DROP/clobber.mp4"         # [1]
as_attacker ln -s "$OUT/secret" "$DROP/leak.ans"            # [2]
as_attacker ln -s ../../outside/secret "$DROP/rel.mp4"      # [3]
as_attacker ln -s ../../outside/canary "$DROP/relout.mp4"   # [3]
as_attacker ln -s "$OUT" "$DROP/dirlink"                    # [4]
as_attacker ln -s "$OUT" "$DROP/p"                          # [5]
ln "$OUT/secret" "$DROP/hard.mp4"                           # [9] protected_hardlinks stops daemon; root plants it
as_attacker mkfifo "$DROP/fifo.mp4"                         # [10]
mknod "$DROP/dev.mp4" c 1 3 && chown -h daemon:daemon "$DROP/dev.mp4"  # [10] /dev/null's numbers
printf 'root data\n' > "$MEDIA/rootowned.mp4" && chmod 0644 "$MEDIA/rootowned.mp4"  # [12]
ROOTOWNED_SUM=$(sha256sum < "$MEDIA/rootowned.mp4")
# [20] A real video outside the roots, world-readable, and an "mp4" upload that is an HLS
# playlist naming it: ffmpeg probes content, not names.
"$FFMPEG" -nostdin -loglevel error -f lavfi -i testsrc=size=160x120:rate=10 -t 1 -c:v libx264 -f mpegts "$OUT/video.ts"
chmod 0644 "$OUT/video.ts"
printf '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n%s\n#EXT-X-ENDLIST\n' "$OUT/video.ts" | as_attacker tee "$DROP/upload.mp4" >/dev/null
# [21] Another uploader's private dir inside the root (daemon's, 0700) with a video in it.
as_attacker mkdir -m 0700 "$DROP/private"
as_attacker cp "$OUT/video.ts" "$DROP/private/theirs.ts"
CANARY0=$(canary_sums)
LISTING0=$(outside_listing)

harness_key "$T"
harness_node_key "$T" "hostile-$$" "sqlite:$T/master.db" || bail "ffrtmp-master nodes add failed (see $T/master.log)"
PORT=$(free_port "${FFRTMP_HOSTILE_PORT:-18130}" $((${FFRTMP_HOSTILE_PORT:-18130} + 9))) || bail "no free port for the master"
master_start "$T" "$PORT" "sqlite:$T/master.db" "$T/master.log" || bail "ffrtmp-master did not start (see its log: $(tail -n 1 "$T/master.log"))"
write_worker_env "$T/worker.env" false
"$BIN/ffrtmp" agent --config "$T/worker.env" >> "$T/agent.log" 2>&1 &
AGENT_PID=$!
wait_for 15 agent_registered || bail "the agent did not register with the master: $(tail -n 3 "$T/agent.log" | tr '\n' ' ')"

# ---------------------------------------------------------------- the jobs of tests 1-10, 12, 13, 18

# The long ones first (the master hands out the oldest first, the agent takes one per poll).
sub "$(jobspec h12-ident testsrc "$MEDIA/ident.mp4" '{"realtime":true,"duration_seconds":3}')"
sub "$(jobspec h12-ident-legacy testsrc "$MEDIA/ident-legacy.mp4" '{"realtime":true,"duration_seconds":3}' '{"wrapper_enabled":false}')"
# Test 12's look at the workloads while they run (before the other submissions take their 3 s).
declare -A IDENT_PID=() IDENT_STATUS=()
for j in h12-ident h12-ident-legacy; do
  if wait_for 20 runs_as ffmpeg "$STATE/jobs/$j.a1/workload.pid"; then
    IDENT_PID[$j]=$(cut -d' ' -f1 "$STATE/jobs/$j.a1/workload.pid")
    IDENT_STATUS[$j]=$(cat "/proc/${IDENT_PID[$j]}/status" 2>/dev/null || true)
  fi
done
sub "$(jobspec h13-png testsrc "$MEDIA/img%05d.png" '{"resolution":"640x360","preset":"ultrafast","bitrate":"20M","duration_seconds":null}' \
  '{"wrapper_constraints":{"max_output_mb":5}}')"
sub "$(jobspec h13-legacy testsrc "$MEDIA/legacy.mp4" \
  '{"resolution":"640x360","preset":"ultrafast","bitrate":"20M","duration_seconds":null,"resource_limits":{"max_disk_mb":2}}' '{"wrapper_enabled":false}')"
sub "$(jobspec h01-clobber testsrc "$DROP/clobber.mp4")"
sub "$(jobspec h02-leak "$DROP/leak.ans" "$DROP/leak-out.mp4")"
sub "$(jobspec h03-rel-in "$DROP/rel.mp4" "$DROP/rel-out.mp4")"
sub "$(jobspec h03-rel-out testsrc "$DROP/relout.mp4")"
sub "$(jobspec h04-dirlink testsrc "$DROP/dirlink/new.mp4")"
sub "$(jobspec h05-parent testsrc "$DROP/p/b/c.mp4")"
sub "$(jobspec h06-dotdot testsrc "$MEDIA/drop/../../outside/x6.mp4")"
sub "$(jobspec h06-dotdot-in "$MEDIA/../outside/secret" "")"
sub "$(jobspec h07-slashes testsrc "/$OUT/x7.mp4")"
sub "$(jobspec h07-ok testsrc "$MEDIA//drop/./ok.mp4")"
H08=("${SYSTEM_OUTPUTS[@]}" "/proc/self/root$OUT/x8.mp4")
for i in "${!H08[@]}"; do sub "$(jobspec "h08-$i" testsrc "${H08[$i]}")"; done
sub "$(jobspec h09-hard-in "$DROP/hard.mp4" "")"
sub "$(jobspec h09-hard-out testsrc "$DROP/hard.mp4")"
sub "$(jobspec h10-fifo-in "$DROP/fifo.mp4" "")"
sub "$(jobspec h10-fifo-out testsrc "$DROP/fifo.mp4")"
sub "$(jobspec h10-dev-in "$DROP/dev.mp4" "")"
sub "$(jobspec h10-dev-out testsrc "$DROP/dev.mp4")"
sub "$(jobspec h20-hls "$DROP/upload.mp4" "$MEDIA/hls-out.mp4" '{"codec":"copy"}')"
sub "$(jobspec h21-private-in "$DROP/private/theirs.ts" "$MEDIA/private-out.mp4")"
sub "$(jobspec h21-private-out testsrc "$DROP/private/planted.mp4")"
sub "$(jobspec h22-dots testsrc "$MEDIA/...")"
sub "$(jobspec h23-colons "http://127.0.0.1:1:1/x" "")"
sub "$(jobspec h10-after testsrc "$MEDIA/after.mp4")"
sub "$(jobspec h12-rootowned testsrc "$MEDIA/rootowned.mp4")"
# An image sequence is written by name: in the attacker's dir it is refused.
sub "$(jobspec h13-png-drop testsrc "$DROP/img%05d.png")"
H18=("http://127.0.0.1:1/x" "http://[::1]/x" "http://169.254.169.254/latest")
for i in "${!H18[@]}"; do sub "$(jobspec "h18-$i" "${H18[$i]}" "")"; done

PHASE_A=("${SUBMITTED[@]}")
wait_for 60 all_final "${PHASE_A[@]}" || echo "# not every job ended within 60 s: $(for j in "${PHASE_A[@]}"; do printf '%s=%s ' "$j" "$(job_field "$j" .status)"; done)"

# ---------------------------------------------------------------- 1-10

test1() {
  refused h01-clobber "$DROP/clobber.mp4" symlink || return
  [ -L "$DROP/clobber.mp4" ] || { f "drop/clobber.mp4 is no longer the planted symlink"; return; }
  canaries_unchanged
}
t 1 "a symlinked output (drop/clobber.mp4 -> outside/canary) is refused; the canary is unchanged" test1

test2() {
  refused h02-leak "$DROP/leak.ans" "leads out of the media root" || return
  absent "$DROP/leak-out.mp4" || return
  local hits
  hits=$(grep -rlsF -D skip --exclude=hard.mp4 -e "$SECRET_TEXT" "$MEDIA" "$STATE" "$T"/master.db* "$T/agent.log" || true)
  [ -z "$hits" ] || { f "the secret's text is in: $hits"; return; }
  canaries_unchanged
}
t 2 "a symlinked input (drop/leak.ans -> the 0600 secret) is refused; the secret is in no output" test2

test3() {
  refused h03-rel-in "$DROP/rel.mp4" "leads out of the media root" || return
  refused h03-rel-out "$DROP/relout.mp4" symlink || return
  absent "$DROP/rel-out.mp4" || return
  [ -L "$DROP/relout.mp4" ] || { f "drop/relout.mp4 is no longer the planted symlink"; return; }
  canaries_unchanged
}
t 3 "a relative symlink leading out (../../outside/...) is refused as input and as output" test3

test4() {
  refused h04-dirlink "$DROP/dirlink/new.mp4" || return
  absent "$OUT/new.mp4" || return
  canaries_unchanged
}
t 4 "an output under a symlinked directory (drop/dirlink -> outside) is refused; outside/new.mp4 absent" test4

test5() {
  refused h05-parent "$DROP/p/b/c.mp4" || return
  absent "$OUT/b/c.mp4" || return
  local inb
  inb=$(find "$OUT/b" -mindepth 1 | tr '\n' ' ')
  [ -z "$inb" ] || { f "$OUT/b is not empty: $inb"; return; }
  canaries_unchanged
}
t 5 "a symlink in a parent directory (drop/p -> outside, drop/p/b/c.mp4) is refused" test5

test6() {
  refused h06-dotdot "$MEDIA/drop/../../outside/x6.mp4" "'..'" || return
  refused h06-dotdot-in "$MEDIA/../outside/secret" "'..'" || return
  absent "$OUT/x6.mp4" || return
  canaries_unchanged
}
t 6 "'..' in a path is refused (output and input)" test6

test7() {
  refused h07-slashes "/$OUT/x7.mp4" "outside MEDIA_ROOTS" || return
  absent "$OUT/x7.mp4" || return
  completed h07-ok || return
  local o=$DROP/ok.mp4
  [ -f "$o" ] && [ ! -L "$o" ] && [ -s "$o" ] || { f "$o is not a non-empty regular file"; return; }
  [ "$(stat -c %u "$o")" = "$NOBODY_UID" ] || { f "$o is owned by uid $(stat -c %u "$o"), not nobody ($NOBODY_UID)"; return; }
  canaries_unchanged
}
t 7 "'//' outside the root is refused; media//drop/./ok.mp4 completes inside the root, owned by nobody" test7

test8() {
  local i
  for i in "${!H08[@]}"; do refused "h08-$i" "${H08[$i]}" "is outside MEDIA_ROOTS" || return; done
  absent "${SYSTEM_OUTPUTS[@]}" "$OUT/x8.mp4" || return
  canaries_unchanged
}
t 8 "outputs in /root, /run, /lib64, /run/shm and /proc/self/root/... are refused; none exists" test8

test9() {
  refused h09-hard-in "$DROP/hard.mp4" "hard link" || return
  refused h09-hard-out "$DROP/hard.mp4" "hard link" || return
  [ "$(stat -c %h "$OUT/secret")" = 2 ] || { f "the secret has $(stat -c %h "$OUT/secret") links, not 2"; return; }
  canaries_unchanged
}
t 9 "a hard link to a root-owned file outside (the secret) is refused as input and as output" test9

test10() {
  refused h10-fifo-in "$DROP/fifo.mp4" FIFO || return
  refused h10-fifo-out "$DROP/fifo.mp4" FIFO || return
  refused h10-dev-in "$DROP/dev.mp4" "device node" || return
  refused h10-dev-out "$DROP/dev.mp4" "device node" || return
  [ -p "$DROP/fifo.mp4" ] && [ -c "$DROP/dev.mp4" ] || { f "the FIFO or the device node was replaced"; return; }
  completed h10-after || return
  [ -s "$MEDIA/after.mp4" ] || { f "$MEDIA/after.mp4 is empty or missing"; return; }
}
t 10 "a FIFO and a device node are refused as input and output, and the agent goes on (next job completes)" test10

# ---------------------------------------------------------------- 11: the swap race

# Exchanges two names atomically (renameat2 RENAME_EXCHANGE), as fast as it can; prints the
# count on SIGTERM.
SWAPPER='
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
rn = libc.renameat2
rn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
a, b = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2])
n = 0
def stop(*_):
    print(n, flush=True)
    os._exit(0)
signal.signal(signal.SIGTERM, stop)
while True:
    if rn(-100, a, -100, b, 2) != 0:
        print("renameat2:", os.strerror(ctypes.get_errno()), flush=True)
        sys.exit(1)
    n += 1
'
# What drop/race is, sampled 20 times: "directory,symbolic link," once the swapper runs.
race_kinds() { local _; for _ in $(seq 20); do stat -c %F "$DROP/race" 2>/dev/null; done | sort -u | tr '\n' ,; }
swapping() { [ "$(race_kinds)" = "directory,symbolic link," ]; }
test11() {
  local before
  before=$(outside_listing)
  as_attacker mkdir "$DROP/race"
  as_attacker ln -s "$OUT" "$DROP/race-swap"
  setpriv --reuid="$DAEMON_UID" --regid="$DAEMON_GID" --clear-groups -- "$PY" -c "$SWAPPER" "$DROP/race" "$DROP/race-swap" > "$T/swapper.out" 2>&1 &
  SWAP_PID=$!
  wait_for 10 swapping || { f "the swapper does not swap (drop/race seen as: $(race_kinds); $(cat "$T/swapper.out"))"; return; }
  local ids=() i
  SUBMITTED=()
  for i in $(seq 1 24); do submit "$(jobspec "race-$i" testsrc "$DROP/race/out$i.mp4")" || { f "cannot submit race-$i"; return; }; done
  ids=("${SUBMITTED[@]}")
  wait_for 60 all_final "${ids[@]}" || { f "not every race job ended within 60 s"; return; }
  alive "$SWAP_PID" || { f "the swapper died during the race: $(cat "$T/swapper.out")"; return; }
  stop_pid "$SWAP_PID" 5
  SWAP_PID=""
  local swaps ok=0 no=0 j s
  swaps=$(head -n 1 "$T/swapper.out")
  for i in $(seq 1 24); do
    j=$(job "race-$i")
    s=$(jq -r '.status + " " + (.failure_reason // "-") + " " + (.platform_sla_reason // "-")' <<<"$j")
    case $s in
      "completed - success")
        ok=$((ok + 1))
        [ -n "$(find "$DROP" -name "out$i.mp4" -type f -size +0)" ] || { f "race-$i completed, but out$i.mp4 is in no real dir under drop"; return; } ;;
      "failed user_error bad_input")
        no=$((no + 1))
        jq -e --arg p "$DROP/race/out$i.mp4" '.result.result.error | contains($p)' <<<"$j" >/dev/null ||
          { f "race-$i: the error does not name its path: $(jq -c .result.result.error <<<"$j")"; return; } ;;
      *) f "race-$i ended neither completed nor refused: $(summary "race-$i")"; return ;;
    esac
  done
  echo "# race: $swaps swaps; $ok jobs completed inside the root, $no refused"
  [ -z "$(find "$OUT" -name 'out*.mp4')" ] || { f "outputs landed outside: $(find "$OUT" -name 'out*.mp4' | tr '\n' ' ')"; return; }
  outside_unchanged "$before"
}
t 11 "24 jobs race a dir <-> symlink swap (renameat2 RENAME_EXCHANGE): each completes inside or is refused" test11

# ---------------------------------------------------------------- 12: the workload's identity

test12() {
  local j u=$NOBODY_UID g=$NOBODY_GID line st pid
  for j in h12-ident h12-ident-legacy; do
    st=${IDENT_STATUS[$j]:-} pid=${IDENT_PID[$j]:-}
    [ -n "$st" ] || { f "no running ffmpeg for $j was seen: $(summary "$j")"; return; }
    line=$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' <<<"$st")
    [ "$line" = "$u $u $u $u" ] || { f "$j: pid $pid Uid: $line, not $u x4"; return; }
    line=$(awk '$1 == "Gid:" { print $2, $3, $4, $5 }' <<<"$st")
    [ "$line" = "$g $g $g $g" ] || { f "$j: pid $pid Gid: $line, not $g x4"; return; }
    line=$(awk '$1 == "Groups:" { $1 = ""; print }' <<<"$st" | tr -d ' \t')
    [ -z "$line" ] || { f "$j: pid $pid has supplementary groups: $line"; return; }
    line=$(awk '$1 == "NoNewPrivs:" { print $2 }' <<<"$st")
    [ "$line" = 1 ] || { f "$j: pid $pid NoNewPrivs: ${line:-missing}"; return; }
    completed "$j" || return
  done
  [ "$(stat -c %u "$MEDIA/ident.mp4")" = "$u" ] || { f "ident.mp4 is owned by uid $(stat -c %u "$MEDIA/ident.mp4")"; return; }
  refused h12-rootowned "$MEDIA/rootowned.mp4" "may not write" || return
  local out rc=0
  out=$("$BIN/ffrtmp" run --state-dir "$RUNSTATE" --cgroup-parent "$PARENT" --user nobody -- /bin/sh -c "echo x > $MEDIA/rootowned.mp4" 2>&1) || rc=$?
  [ "$rc" != 0 ] && [ "$rc" != 125 ] || { f "ffrtmp run --user nobody writing a root-owned file: exit $rc: $out"; return; }
  grep -q "Permission denied" <<<"$out" || { f "the shell was not refused by the kernel (exit $rc): $out"; return; }
  [ "$(sha256sum < "$MEDIA/rootowned.mp4")" = "$ROOTOWNED_SUM" ] || { f "rootowned.mp4 changed"; return; }
}
t 12 "workloads (wrapped and legacy) run as nobody:nogroup, no groups, NoNewPrivs; a root-owned output is refused and unwritable" test12

# ---------------------------------------------------------------- 13: output limits

test13() {
  # shellcheck disable=SC2016  # $lim is jq's
  local j want='.status == "failed" and .failure_reason == "resource_error" and .platform_sla == true
    and .platform_sla_reason == "output_limit" and (.result.result.error | type == "string" and contains($lim))'
  j=$(job h13-png)
  jq -e --arg lim "max_output_mb=5" "$want" <<<"$j" >/dev/null || { f "h13-png at the master: $(summary h13-png)"; return; }
  local total n
  total=$(find "$MEDIA" -maxdepth 1 -name 'img*.png' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
  n=$(find "$MEDIA" -maxdepth 1 -name 'img*.png' | wc -l)
  echo "# max_output_mb=5: $n png files, $total bytes ($(awk -v b="$total" 'BEGIN { printf "%.2f", b / 1048576 }') MiB)"
  [ "$total" -ge $((4 << 20)) ] && [ "$total" -le $((10 << 20)) ] || { f "the png files total $total bytes, not 4-10 MiB"; return; }
  refused h13-png-drop "$DROP/img%05d.png" "image-sequence output needs a directory only root and nobody can write" || return
  [ -z "$(find "$DROP" -name 'img*.png')" ] || { f "png files were written in the drop dir"; return; }
  j=$(job h13-legacy)
  jq -e --arg lim "max_output_mb=2" "$want" <<<"$j" >/dev/null || { f "h13-legacy at the master: $(summary h13-legacy)"; return; }
  local size
  size=$(stat -c %s "$MEDIA/legacy.mp4" 2>/dev/null || echo missing)
  echo "# legacy max_disk_mb=2: legacy.mp4 is $size bytes"
  [ "$size" != missing ] && [ "$size" -gt 0 ] && [ "$size" -le $((2 << 20)) ] || { f "legacy.mp4 is $size bytes, not 1..2 MiB"; return; }
}
t 13 "max_output_mb (image sequence) and legacy max_disk_mb stop the job (output_limit); no sequence in the drop dir" test13

# ---------------------------------------------------------------- 14: verified group kill

test14() {
  local out
  out=$(FFRTMP_STATE_DIR=$RUNSTATE FFRTMP_CGROUP_PARENT=$PARENT "$BIN/ffrtmp" run --detach --job-id vk -- /bin/sleep 60 2>&1) ||
    { f "ffrtmp run --detach failed: $out"; return; }
  local wf=$RUNSTATE/jobs/vk/workload.pid wp ws wg
  wait_for 10 runs_as sleep "$wf" || { f "no running sleep for job vk"; return; }
  read -r wp ws wg < "$wf"
  setsid /bin/sleep 300 &
  UNREL_PID=$!
  wait_for 5 comm_is "$UNREL_PID" sleep || { f "the unrelated sleep did not start"; return; }
  local upgid ustart
  upgid=$(stat_field "$UNREL_PID" 5) ustart=$(stat_field "$UNREL_PID" 22)
  [ "$upgid" = "$UNREL_PID" ] && [ "$upgid" != "$wg" ] || { f "the unrelated sleep $UNREL_PID is in group $upgid (the job's: $wg)"; return; }
  printf '%s %s %s\n' "$wp" "$ws" "$upgid" > "$wf.new" && mv -f "$wf.new" "$wf"
  local rc=0
  out=$(FFRTMP_STATE_DIR=$RUNSTATE FFRTMP_CGROUP_PARENT=$PARENT "$BIN/ffrtmp" kill vk --grace 1 2>&1) || rc=$?
  [ "$rc" = 0 ] || { f "ffrtmp kill vk: exit $rc: $out"; return; }
  grep -qF "warning: job vk: workload.pid names process group $upgid" <<<"$out" || { f "kill printed no warning: $out"; return; }
  alive "$UNREL_PID" && [ "$(stat_field "$UNREL_PID" 22)" = "$ustart" ] || { f "the unrelated sleep $UNREL_PID (group $upgid) was killed"; return; }
  wait_for 5 gone "$wp" || { f "the job's sleep $wp still runs"; return; }
  wait_for 5 test -s "$RUNSTATE/jobs/vk/exit.json" || { f "job vk has no exit record"; return; }
  kill -KILL "$UNREL_PID"
  wait "$UNREL_PID" 2>/dev/null || true
  UNREL_PID=""
}
t 14 "ffrtmp kill with a forged workload.pid pgid spares the other group, warns, and ends the job" test14

# ---------------------------------------------------------------- 15-18: a hostile box
# shellcheck source=scripts/lib/hostile_box.sh
. "$repo/scripts/lib/hostile_box.sh"

# ---------------------------------------------------------------- 20-23: what a file says, whose dir, odd names

test20() {
  local j
  j=$(job h20-hls)
  jq -e '.status == "failed" and .failure_reason == "workload_error" and .platform_sla == true' <<<"$j" >/dev/null ||
    { f "h20-hls at the master: $(summary h20-hls)"; return; }
  grep -qs 'not on the format whitelist\|whitelist' "$STATE/jobs/h20-hls.a1/stderr.log" ||
    { f "ffmpeg did not refuse the playlist by its whitelist: $(tail -c 300 "$STATE/jobs/h20-hls.a1/stderr.log" 2>/dev/null)"; return; }
  [ ! -s "$MEDIA/hls-out.mp4" ] || [ "$(stat -c %s "$MEDIA/hls-out.mp4")" -lt 1024 ] || { f "hls-out.mp4 holds media: $(stat -c %s "$MEDIA/hls-out.mp4") bytes"; return; }
}
t 20 "an upload that is an HLS playlist naming a file outside the roots is refused by ffmpeg's format whitelist" test20

test21() {
  refused h21-private-in "$DROP/private/theirs.ts" "permission denied" || return
  refused h21-private-out "$DROP/private/planted.mp4" "permission denied" || return
  absent "$DROP/private/planted.mp4" "$MEDIA/private-out.mp4"
}
t 21 "another user's 0700 dir inside the root is closed to jobs: no read from it, no file created in it" test21

test22() {
  refused h22-dots "$MEDIA/..." "names no file" || return
  alive "$AGENT_PID" || f "the agent died"
}
t 22 "an output named only with dots is refused and the agent lives on" test22

test23() { refused h23-colons "parameters.input" "no host"; }
t 23 "a URL whose host ffmpeg would read as 127.0.0.1 (127.0.0.1:1:1) is refused" test23

# ---------------------------------------------------------------- 24: the whole run

test24() {
  absent "${SYSTEM_OUTPUTS[@]}" || return
  outside_unchanged
}
t 24 "after every case: the canaries are byte-for-byte unchanged and nothing was created outside" test24

stop_pid "$AGENT_PID" 5
AGENT_PID=""
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
