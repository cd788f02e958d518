# shellcheck shell=bash
# Tests 15-18 of scripts/test_hostile_paths.sh (sourced by it, in order): refused
# configurations, a reload with a bad file, planted state-dir symlinks, network inputs to this box.
# shellcheck disable=SC2015  # the "[ A ] && B || { f ...; }" checks, as in the main script

# ---------------------------------------------------------------- 15: refused configurations

# Expects `ffrtmp agent --config FILE` to exit 78 with stderr holding every TEXT; the stderr
# stays in REFUSED_ERR for further checks.
refused_config() { # FILE TEXT...
  local file=$1 rc=0 err t0 ms
  shift
  t0=$(date +%s%N)
  err=$(timeout 20 "$BIN/ffrtmp" agent --config "$file" 2>&1 >/dev/null) || rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  REFUSED_ERR=$err
  [ "$rc" = 78 ] || { f "$file: exit $rc after $ms ms, not 78: $(tail -n 2 <<<"$err" | tr '\n' ' ')"; return 1; }
  [ "$ms" -lt 5000 ] || { f "$file: exit 78 only after $ms ms"; return 1; }
  local s
  for s in "$@"; do grep -qF -- "$s" <<<"$err" || { f "$file: stderr lacks \"$s\": $err"; return 1; }; done
}
test15() {
  local c=$T/cfg15
  mkdir -m 0755 "$c" "$c/st"
  # worker.env writable by everyone
  standalone_env "$c/open.env" "$c/st"
  chmod 0666 "$c/open.env"
  refused_config "$c/open.env" "worker.env $c/open.env" "owner uid 0" "mode 666" || return
  # the state dir owned by nobody
  mkdir -m 0755 "$c/st-nobody"
  chown nobody "$c/st-nobody"
  standalone_env "$c/state.env" "$c/st-nobody"
  refused_config "$c/state.env" "$c/st-nobody" "owner uid $NOBODY_UID" "mode 755" || return
  # FFMPEG_PATH: a root-owned script in a dir nobody owns, and a script nobody owns
  mkdir -m 0755 "$c/evil" "$c/evil2"
  chown nobody "$c/evil"
  printf '#!/bin/sh\nexec %s "$@"\n' "$FFMPEG" > "$c/evil/ffmpeg"
  chmod 0755 "$c/evil/ffmpeg"
  cp "$c/evil/ffmpeg" "$c/evil2/ffmpeg"
  chown nobody "$c/evil2/ffmpeg"
  standalone_env "$c/ffmpeg1.env" "$c/st" "FFMPEG_PATH=$c/evil/ffmpeg"
  refused_config "$c/ffmpeg1.env" "FFMPEG_PATH $c/evil/ffmpeg" "$c/evil" "owner uid $NOBODY_UID" || return
  standalone_env "$c/ffmpeg2.env" "$c/st" "FFMPEG_PATH=$c/evil2/ffmpeg"
  refused_config "$c/ffmpeg2.env" "FFMPEG_PATH $c/evil2/ffmpeg" "owner uid $NOBODY_UID" "mode 755" || return
  # the API key file owned by nobody (nobody could swap the key the agent sends)
  (umask 077; cp "$T/api.key" "$c/nobody.key")
  chown nobody "$c/nobody.key"
  standalone_env "$c/key.env" "$c/st" "FFRTMP_API_KEY_FILE=$c/nobody.key"
  refused_config "$c/key.env" "$c/nobody.key" "owner uid $NOBODY_UID" || return
  # a CA file nobody owns (nobody could swap in their own CA and be the master), and a
  # MASTER_URL carrying credentials
  printf 'not even a certificate\n' > "$c/nobody-ca.pem"
  chown nobody "$c/nobody-ca.pem"
  standalone_env "$c/ca.env" "$c/st" "MASTER_CA_FILE=$c/nobody-ca.pem"
  refused_config "$c/ca.env" "MASTER_CA_FILE $c/nobody-ca.pem" "owner uid $NOBODY_UID" || return
  standalone_env "$c/url.env" "$c/st" "MASTER_URL=https://admin:secret@master.example" "FFRTMP_API_KEY=0123456789abcdef0123"
  refused_config "$c/url.env" "invalid MASTER_URL" "https://…@master.example" "no user info" || return
  ! grep -q secret <<<"$REFUSED_ERR" || { f "the refusal repeats the URL's password: $REFUSED_ERR"; return; }
  # a JOB_USER that does not exist
  standalone_env "$c/user.env" "$c/st" "JOB_USER=ffrtmp-no-such-user"
  refused_config "$c/user.env" "ffrtmp-no-such-user" "useradd" || return
}
t 15 "untrusted worker.env, state dir, FFMPEG_PATH, key file, MASTER_CA_FILE, a MASTER_URL with credentials, and a missing JOB_USER: the agent exits 78" test15

# ---------------------------------------------------------------- 16: reload with a bad file

wrapper_is() { [ "$(agent_status | jq -r .wrapper_enabled 2>/dev/null)" = "$1" ]; }
refusals() { grep -c "refused, keeping the old settings" "$T/agent.log" || true; }
more_refusals() { [ "$(refusals)" -gt "$1" ]; }
log_has() { grep -qF -- "$1" "$T/agent.log"; }
test16() {
  alive "$AGENT_PID" || { f "the agent is not running"; return; }
  wrapper_is false || { f "the agent does not start with wrapper_enabled false: $(agent_status)"; return; }
  local before
  before=$(refusals)
  write_worker_env "$T/worker.env" true
  chmod 0666 "$T/worker.env"
  kill -HUP "$AGENT_PID"
  wait_for 5 more_refusals "$before" || { f "no \"reload ... refused\" in the agent log after SIGHUP with a 0666 worker.env"; return; }
  log_has "reload of $T/worker.env refused" || { f "the refusal does not name $T/worker.env: $(grep refused "$T/agent.log" | tail -n 1)"; return; }
  wrapper_is false || { f "after the refused reload: $(agent_status)"; return; }
  chmod 0644 "$T/worker.env"
  kill -HUP "$AGENT_PID"
  wait_for 5 wrapper_is true || { f "after a reload of the 0644 worker.env: $(agent_status)"; return; }
  alive "$AGENT_PID" || { f "the agent died"; return; }
}
t 16 "SIGHUP with a 0666 worker.env keeps the old config (logged \"refused\"); with 0644 it applies" test16

# ---------------------------------------------------------------- 17: planted state-dir symlinks

test17() {
  local c=$T/cfg17 rc=0 out before
  before=$(outside_listing)
  mkdir -m 0755 "$c"
  mkdir -m 0750 "$c/st"
  ln -s "$OUT/canary" "$c/st/agent.lock"
  standalone_env "$c/lock.env" "$c/st"
  out=$(timeout 20 "$BIN/ffrtmp" agent --config "$c/lock.env" 2>&1) || rc=$?
  [ "$rc" != 0 ] && [ "$rc" != 124 ] || { f "the agent with agent.lock -> canary: exit $rc: $(tail -n 2 <<<"$out" | tr '\n' ' ')"; return; }
  grep -qF "$c/st/agent.lock" <<<"$out" || { f "the error does not name agent.lock: $out"; return; }
  [ -L "$c/st/agent.lock" ] || { f "agent.lock is no longer the planted symlink"; return; }
  outside_unchanged "$before" || return
  mkdir -m 0750 "$c/st2"
  ln -s "$OUT" "$c/st2/jobs"
  rc=0
  out=$("$BIN/ffrtmp" run --state-dir "$c/st2" --cgroup-parent "$PARENT" -- /bin/true 2>&1) || rc=$?
  [ "$rc" != 0 ] || { f "ffrtmp run with jobs -> outside succeeded: $out"; return; }
  echo "# run with jobs -> outside: exit $rc: $(head -n 1 <<<"$out")"
  outside_unchanged "$before"
}
t 17 "a state dir with agent.lock -> canary stops the agent, jobs -> outside stops run; outside unchanged" test17

# ---------------------------------------------------------------- 18: network inputs to this box

test18() {
  local hosts=("127.0.0.1" "::1" "169.254.169.254") i
  for i in "${!H18[@]}"; do refused "h18-$i" "host ${hosts[$i]}" "is this box" || return; done
}
t 18 "network inputs from 127.0.0.1, [::1] and 169.254.169.254 are refused by the default host policy" test18
