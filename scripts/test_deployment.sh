#!/usr/bin/env bash
# Deployment checks: install-edge.sh into a temp prefix twice (the second run must change
# nothing), and systemd-analyze verify on the units. Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); echo "ok   $1"; else fail=$((fail + 1)); echo "FAIL $1"; fi; }
bin=$(swift build --show-bin-path)
tmp=$(mktemp -d /tmp/ffrtmp-deploy-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
deployment/install-edge.sh --prefix "$tmp/root" --from "$bin" > "$tmp/first.log" 2>&1
rc=$?
check "first install succeeds" '[ $rc = 0 ]'
check "binaries, shim and units installed" '[ -x "$tmp/root/usr/local/bin/ffrtmp" ] && [ -x "$tmp/root/usr/local/libexec/ffrtmp/ffrtmp-shim" ] && [ -x "$tmp/root/usr/local/libexec/ffrtmp/ffrtmp-console" ] && [ -x "$tmp/root/usr/local/libexec/ffrtmp/ffrtmp-agent" ] && [ -f "$tmp/root/etc/systemd/system/ffrtmp-worker.service" ]'
check "the media root is created private (0750)" '[ "$(stat -c %a "$tmp/root/var/lib/ffrtmp/media")" = 750 ]'
check "worker.env from the example, wrapper off" 'grep -qx "WRAPPER_ENABLED=false" "$tmp/root/etc/ffrtmp/worker.env"'
echo "MY_SETTING=1" >> "$tmp/root/etc/ffrtmp/worker.env"
find "$tmp/root" -type f -exec md5sum {} + | sort > "$tmp/before"
deployment/install-edge.sh --prefix "$tmp/root" --from "$bin" > "$tmp/second.log" 2>&1
find "$tmp/root" -type f -exec md5sum {} + | sort > "$tmp/after"
check "second run changes nothing" 'cmp -s "$tmp/before" "$tmp/after" && grep -q "nothing to do" "$tmp/second.log"'
check "an existing worker.env is kept" 'grep -qx "MY_SETTING=1" "$tmp/root/etc/ffrtmp/worker.env"'
check "the installed ffrtmp finds its console" 'grep -q "invalid --interval" <<< "$("$tmp/root/usr/local/bin/ffrtmp" console --interval 0 2>&1)"'
check "the installed ffrtmp runs its agent binary" '"$tmp/root/usr/local/bin/ffrtmp" agent --help 2>&1 | grep -q "Run the headless worker"'
check "the installed binary finds its shim" 'FFRTMP_CGROUP_PARENT=ffrtmp-deploy-test "$tmp/root/usr/local/bin/ffrtmp" run --state-dir "$tmp/state" --json -- /bin/true 2>/dev/null | grep -q "\"exit_code\":0"'
deployment/install-edge.sh --prefix "$tmp/dry" --from "$bin" --dry-run > "$tmp/dry.log" 2>&1
check "--dry-run writes nothing" '[ ! -e "$tmp/dry" ] && grep -q "would: install" "$tmp/dry.log"'
if command -v systemd-analyze >/dev/null; then
  # Verified as installed, with ExecStart pointing at the binaries in the temp prefix
  # (verify checks that they exist and are executable).
  mkdir -p "$tmp/units"
  for u in ffrtmp-worker.service ffrtmp-master.service; do
    sed "s#/usr/local/#$tmp/root/usr/local/#g" "$tmp/root/etc/systemd/system/$u" > "$tmp/units/$u"
  done
  # systemd before 254 does not know DelegateSubgroup= (the unit says why it is there): that one
  # warning is expected; any other output fails the check.
  verify=$(systemd-analyze verify "$tmp/units/ffrtmp-worker.service" "$tmp/units/ffrtmp-master.service" 2>&1 | grep -v "Unknown key 'DelegateSubgroup' in section" || true)
  check "systemd-analyze verify accepts the units" '[ -z "$verify" ]' || printf '%s\n' "$verify"
  check "no \${X:-default} expansions in units" '! grep -q "\${[A-Z_]*:-" deployment/systemd/*.service'
fi
for c in cpu cpuacct memory blkio pids freezer; do rmdir /sys/fs/cgroup/$c/ffrtmp-deploy-test 2>/dev/null; done
echo "$pass passed, $fail failed"
[ $fail = 0 ]
