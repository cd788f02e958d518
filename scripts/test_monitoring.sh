#!/usr/bin/env bash
# Checks deployment/monitoring/ for real:
#   - promtool check config / check rules / test rules (alerts_test.yml);
#   - the Grafana dashboard is valid JSON with a datasource variable, and its queries parse;
#   - a real `ffrtmp agent` (private state dir, cgroup parent and worker.env, working for a real
#     `ffrtmp-master` on loopback: per-job series exist only for master jobs) and a second master
#     with --metrics-auth are scraped: every metric and label value that alerts.yml and the
#     dashboard name exists in their output, and /metrics is open or keyed as documented;
#   - a real Prometheus loads the shipped prometheus.yml (targets pointed at them, the master
#     scraped with the documented bearer-key file) and alerts.yml: the targets are up, every
#     rule evaluates, the orphaned and lost jobs made here raise FFRTMPJobOrphaned and
#     FFRTMPJobLost, and every dashboard query returns data.
# Installs nothing (scripts/install-deps.sh test does). Prints "N passed, N failed".
# Env: FFRTMP_BIN_DIR (default .build/debug), FFRTMP_MASTER_BIN (default $FFRTMP_BIN_DIR/ffrtmp-master),
#      FFRTMP_MONITORING_PORT (default 18210; uses it and the next three, on 127.0.0.1).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${FFRTMP_BIN_DIR:-$root/.build/debug}
master_bin=${FFRTMP_MASTER_BIN:-$bin/ffrtmp-master}
mon=$root/deployment/monitoring
port=${FFRTMP_MONITORING_PORT:-18210}
mport=$((port + 1)) mport_open=$((port + 2)) pport=$((port + 3))
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -z "${2:-}" ] || printf '%s\n' "$2" | head -30 | sed 's/^/     /'; }
# check NAME CMD...: passes when CMD exits 0; shows its output when it does not.
check() { local name=$1 out; shift; if out=$("$@" 2>&1); then ok "$name"; else bad "$name" "$out"; return 1; fi; }

for t in promtool prometheus jq curl; do
  command -v "$t" >/dev/null || { echo "missing $t: run scripts/install-deps.sh test (Debian package prometheus has promtool)" >&2; exit 2; }
done

tmp=$(mktemp -d /tmp/ffrtmp-monitoring-XXXXXX)
parent=/ffrtmp-monitoring-$$
pids=()
# Ends what this script started (by pid), then every job process recorded in its private
# journal whose start time still matches, then the cgroups under its private parent.
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  for f in "$tmp"/state/jobs/*/shim.pid "$tmp"/state/jobs/*/workload.pid; do
    [ -f "$f" ] || continue
    read -r p st _ < "$f"
    [ "$(awk '{print $22}' "/proc/$p/stat" 2>/dev/null)" = "$st" ] && kill -9 "$p" 2>/dev/null
  done
  sleep 0.2
  for d in /sys/fs/cgroup/*"$parent"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

# ---- static checks -------------------------------------------------------------------------
check "promtool check config prometheus.yml (with alerts.yml)" promtool check config "$mon/prometheus.yml"
check "promtool check rules alerts.yml" promtool check rules "$mon/alerts.yml"
check "promtool test rules alerts_test.yml" promtool test rules "$mon/alerts_test.yml"
for a in FFRTMPPlatformSLAUptimeLow FFRTMPJobOrphaned FFRTMPJobLost; do
  check "alerts_test.yml tests $a" grep -q "alertname: $a\$" "$mon/alerts_test.yml"
done

dash=$mon/grafana-dashboard.json
check "dashboard is valid JSON with a title and uid" jq -e '.title != "" and .uid != ""' "$dash"
check "dashboard has a prometheus datasource variable" \
  jq -e '[.templating.list[] | select(.type == "datasource" and .query == "prometheus" and .name == "datasource")] | length == 1' "$dash"
check "every panel and query uses \${datasource}" \
  jq -e '[.panels[] | select(.type != "row") | (.datasource.uid, (.targets[] | .datasource.uid))] | all(. == "${datasource}")' "$dash"
check "every panel has queries, panel ids are unique" \
  jq -e '([.panels[] | select(.type != "row") | (.targets | length > 0) and all(.targets[]; .expr != "")] | all) and ([.panels[].id] | length == (unique | length))' "$dash"

# Every dashboard query, with Grafana's variables filled in as Grafana would, must parse as
# PromQL: promtool parses them as recording rules.
dash_exprs=$tmp/dash-exprs
jq -r '.panels[] | .targets[]? | .expr' "$dash" | sed -e 's/\$__rate_interval/15s/g' > "$dash_exprs.raw"
sed 's/\$instance/.*/g' "$dash_exprs.raw" > "$dash_exprs"
{ echo "groups:"; echo "  - name: dashboard"; echo "    rules:"
  n=0; while IFS= read -r e; do n=$((n + 1)); printf '      - record: dashboard_query_%d\n        expr: %s\n' "$n" "$(jq -Rn --arg e "$e" '$e')"; done < "$dash_exprs"
} > "$tmp/dash-rules.yml"
check "every dashboard query parses as PromQL ($(wc -l < "$dash_exprs") queries)" promtool check rules "$tmp/dash-rules.yml"

if [ "$(id -u)" != 0 ]; then
  echo "not root: the live checks (agent, master, Prometheus on real cgroupfs) are skipped" >&2
  echo "$pass passed, $fail failed"
  [ $fail = 0 ]; exit
fi

# ---- real masters, a real agent, real jobs -------------------------------------------------
for b in "$bin/ffrtmp" "$master_bin"; do [ -x "$b" ] || { echo "$b is not built (FFRTMP_BIN_DIR / FFRTMP_MASTER_BIN)" >&2; exit 2; }; done
mkdir -p "$tmp/state" "$tmp/media"; chown nobody: "$tmp/media"
export FFRTMP_STATE_DIR=$tmp/state FFRTMP_CGROUP_PARENT=$parent
unset FFRTMP_CGROUP_DRIVER MASTER_URL FFRTMP_API_KEY FFRTMP_API_KEY_FILE
ff() { "$bin/ffrtmp" "$@"; }
key=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
(umask 077; printf '%s\n' "$key" > "$tmp/master.key")
# The agent's own key for its node id, in the open master's store (the admin key may not call
# the node routes).
(umask 077; "$master_bin" nodes add monitoring-test --db "sqlite:$tmp/master-open.db" > "$tmp/node.key" 2> "$tmp/nodes-add.log") \
  || { echo "ffrtmp-master nodes add failed: $(cat "$tmp/nodes-add.log")" >&2; exit 1; }
# Two masters: one as shipped (/metrics open), one with --metrics-auth.
FFRTMP_API_KEY=$key "$master_bin" --listen 127.0.0.1:$mport_open --db "sqlite:$tmp/master-open.db" > "$tmp/master-open.log" 2>&1 &
pids+=($!)
FFRTMP_API_KEY=$key "$master_bin" --listen 127.0.0.1:$mport --db "sqlite:$tmp/master-auth.db" --metrics-auth > "$tmp/master-auth.log" 2>&1 &
pids+=($!)
# The agent works for the open master (per-job series exist only for the master's jobs).
# Its worker.env is private: never /etc/ffrtmp/worker.env, which may name a real master.
cat > "$tmp/worker.env" <<EOT
MASTER_URL=http://127.0.0.1:$mport_open
FFRTMP_API_KEY_FILE=$tmp/node.key
NODE_ID=monitoring-test
METRICS_PORT=$port
HEARTBEAT_INTERVAL=1
POLL_INTERVAL=0.2
FFMPEG_PATH=$(command -v ffmpeg)
JOB_USER=nobody
MEDIA_ROOTS=$tmp/media
EOT
"$bin/ffrtmp" agent --config "$tmp/worker.env" > "$tmp/agent.log" 2>&1 &
pids+=($!)
wait_for() { local secs=$1; shift; for _ in $(seq $((secs * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
check "masters serve /health" wait_for 30 sh -c "curl -sf http://127.0.0.1:$mport/health && curl -sf http://127.0.0.1:$mport_open/health"
check "agent serves /health on METRICS_PORT" wait_for 15 curl -sf "http://127.0.0.1:$port/health"

# Jobs in every state the alerts and panels care about, made for real in the agent's journal:
# exited (/bin/true), orphaned (its shim killed), lost (shim and workload killed), and two
# master jobs (real ffmpeg test transcodes held to 20% CPU), one of them cancelled.
ff run -- /bin/true > /dev/null 2>&1
ff run --detach --job-id mon-orphan -- sleep 300 > /dev/null
ff run --detach --job-id mon-lost -- sleep 300 > /dev/null
pid_of() { cut -d' ' -f1 "$tmp/state/jobs/$1/$2.pid"; }
kill -9 "$(pid_of mon-orphan shim)" "$(pid_of mon-lost shim)"
sleep 0.2
kill -9 "$(pid_of mon-lost workload)"
submit() {
  MASTER_URL=http://127.0.0.1:$mport_open FFRTMP_API_KEY_FILE=$tmp/master.key ff jobs submit --id "$1" --wrapper-enabled true \
    --cpu-max "20000 100000" --memory-max-mb 512 --parameters '{"input":"testsrc","duration_seconds":600,"realtime":true,"resolution":"640x360"}'
}
submit_both() { submit mon-a && submit mon-b; }
check "two wrapper jobs submitted to the master" submit_both
# A sample NAME{job_id="JOB"} greater than 0 in the agent's output.
positive() { curl -sf "http://127.0.0.1:$port/metrics" | awk -v m="$1{job_id=\"$2\"}" '$1 == m && $2 > 0 { found = 1 } END { exit !found }'; }
sampled() { positive ffrtmp_job_cpu_seconds "$1" && positive ffrtmp_job_memory_bytes "$1" && positive ffrtmp_job_throttled_seconds "$1"; }
both_sampled() { sampled mon-a.a1 && sampled mon-b.a1; }
check "the agent runs them and shows CPU, memory and throttling per job" wait_for 30 both_sampled
sleep 2   # a few more per-job samples, for Prometheus below
MASTER_URL=http://127.0.0.1:$mport_open FFRTMP_API_KEY_FILE=$tmp/master.key ff jobs cancel mon-a > /dev/null
check "the cancelled job is counted as finished (canceled) and compliant" wait_for 30 sh -c \
  "curl -sf http://127.0.0.1:$port/metrics | grep -qE '^ffrtmp_jobs_finished_total\{mode=\"wrapper\", *outcome=\"canceled\"\} 1' && \
   curl -sf http://127.0.0.1:$port/metrics | grep -qE '^ffrtmp_platform_sla_total\{compliant=\"true\"\} 1'"
check "its result reached the master (outbox empty)" wait_for 20 sh -c \
  "curl -sf http://127.0.0.1:$port/metrics | grep -qx 'ffrtmp_outbox_depth 0.0' && curl -sf http://127.0.0.1:$mport_open/metrics | grep -qx 'ffrtmp_master_jobs{status=\"canceled\"} 1'"
curl -sf "http://127.0.0.1:$port/metrics" > "$tmp/agent.prom"
check "its per-job series are gone once it ended" sh -c "! grep -q 'job_id=\"mon-a.a1\"' '$tmp/agent.prom'"
value() { awk -v m="$1" '$1 == m { print $2 }' "$tmp/agent.prom"; }
check "ffrtmp_jobs counts the journal: 1 orphaned, 1 lost, 1 running, 1 killed, 1 exited" sh -c \
  "[ '$(value 'ffrtmp_jobs{state="orphaned"}')' = 1.0 ] && [ '$(value 'ffrtmp_jobs{state="lost"}')' = 1.0 ] && \
   [ '$(value 'ffrtmp_jobs{state="running"}')' = 1.0 ] && [ '$(value 'ffrtmp_jobs{state="killed"}')' = 1.0 ] && \
   [ '$(value 'ffrtmp_jobs{state="exited"}')' = 1.0 ]" || grep '^ffrtmp_jobs{' "$tmp/agent.prom"
check "ffrtmp ps agrees: mon-orphan orphaned, mon-lost lost" sh -c \
  "'$bin/ffrtmp' ps --json | jq -e '(map(select(.job_id == \"mon-orphan\"))[0].state == \"orphaned\") and (map(select(.job_id == \"mon-lost\"))[0].state == \"lost\")'"
check "promtool check metrics accepts the agent's output" sh -c "promtool check metrics < '$tmp/agent.prom'"

# /metrics of the master: open by default, behind the key with --metrics-auth.
check "master /metrics needs no key by default" curl -sf -o "$tmp/master.prom" "http://127.0.0.1:$mport_open/metrics"
check "master --metrics-auth: /metrics without the key is 401" \
  sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$mport/metrics)\" = 401 ]"
check "master --metrics-auth: /metrics with Authorization: Bearer KEY is 200" \
  sh -c "curl -sf -H \"Authorization: Bearer \$(cat '$tmp/master.key')\" http://127.0.0.1:$mport/metrics > /dev/null"

# Every metric and every label value the alerts and the dashboard select on exists in the
# real output (job and instance come from Prometheus itself, as does `up`).
names_ok() {
  local src=$1 prom=$2 missing=""
  while IFS= read -r sel; do
    name=${sel%%\{*}
    grep -qE "^$name(\{| )" "$prom" || { missing+=" $name"; continue; }
    [ "$sel" = "$name" ] && continue
    for pair in $(printf '%s' "${sel#*\{}" | tr -d '} ' | tr ',' '\n' | grep -E '^[a-z_]+="[^"]*"$' | grep -vE '^(job|instance)='); do
      grep -E "^$name\{" "$prom" | grep -qF "$pair" || missing+=" $name{$pair}"
    done
  done < <(grep -oE 'ffrtmp_[a-z_]+(\{[^}]*\})?' "$src" | sort -u)
  [ -z "$missing" ] || { echo "not in the real output:$missing"; return 1; }
}
grep -E '^\s+expr:' "$mon/alerts.yml" | sed 's/^ *expr: //' > "$tmp/alert-exprs"
cat "$tmp/agent.prom" "$tmp/master.prom" > "$tmp/all.prom"
check "every metric and label value in alerts.yml exists (agent + master)" names_ok "$tmp/alert-exprs" "$tmp/all.prom"
check "every metric and label value in the dashboard exists (agent)" names_ok "$dash_exprs" "$tmp/agent.prom"
check "the dashboard's variable query names a real agent metric" names_ok <(jq -r '.templating.list[] | .definition? // empty' "$dash") "$tmp/agent.prom"

# ---- a real Prometheus on the shipped config -----------------------------------------------
# The shipped prometheus.yml with its example targets pointed at the processes above, 1 s
# intervals, and the master's commented-out bearer-key block switched on (that master runs
# with --metrics-auth).
sed -e 's/scrape_interval: 15s/scrape_interval: 1s/' -e 's/evaluation_interval: 15s/evaluation_interval: 1s/' \
    -e "s#^  - alerts.yml#  - $mon/alerts.yml#" -e "s#edge-1.example:9464#127.0.0.1:$port#" -e '/edge-2.example:9464/d' \
    -e "s#master.example:8080#127.0.0.1:$mport#" -e 's/^    # authorization:/    authorization:/' -e 's/^    #   /      /' \
    -e "s#/etc/prometheus/ffrtmp-master.key#$tmp/master.key#" "$mon/prometheus.yml" > "$tmp/prometheus.yml"
check "the shipped prometheus.yml took the test targets and the key file" sh -c \
  "grep -c -e '127.0.0.1:$port' -e '127.0.0.1:$mport' -e '$tmp/master.key' -e '$mon/alerts.yml' -e '^    authorization:' '$tmp/prometheus.yml' | grep -qx 5"
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" --web.listen-address="127.0.0.1:$pport" \
  --log.level=warn > "$tmp/prometheus.log" 2>&1 &
pids+=($!)
papi() { curl -sf "http://127.0.0.1:$pport/api/v1/$1"; }
check "prometheus starts with it" wait_for 30 papi status/config
check "both targets are up (master scraped with the bearer key file)" wait_for 30 sh -c \
  "curl -sf http://127.0.0.1:$pport/api/v1/targets | jq -e '[.data.activeTargets[] | select(.health == \"up\") | .labels.job] | sort == [\"ffrtmp-agent\", \"ffrtmp-master\"]'" \
  || papi targets | jq -c '.data.activeTargets[] | {job: .labels.job, health, lastError}'
check "every alert rule evaluates without error" wait_for 20 sh -c \
  "curl -sf http://127.0.0.1:$pport/api/v1/rules | jq -e '[.data.groups[].rules[] | .health] | length == 14 and all(. == \"ok\")'"
alert_on() { papi alerts | jq -e --arg a "$1" --arg s "$2" --arg st "$3" \
  '[.data.alerts[] | select(.labels.alertname == $a and .labels.state == $s and (.state | IN($st | split(",")[])) and .labels.job == "ffrtmp-agent")] | length == 1'; }
check "FFRTMPJobLost fires for the lost job" wait_for 20 alert_on FFRTMPJobLost lost firing
check "FFRTMPJobOrphaned is raised for the orphaned job (pending: for 1m)" wait_for 20 alert_on FFRTMPJobOrphaned orphaned pending,firing
check "no agent-down, SLA or outbox alert on a healthy agent" sh -c \
  "curl -sf http://127.0.0.1:$pport/api/v1/alerts | jq -e '[.data.alerts[].labels.alertname] - [\"FFRTMPJobLost\", \"FFRTMPJobOrphaned\"] == []'"
# Every panel shows data: each dashboard query, run by Prometheus over what it scraped,
# for this node as Grafana's Node variable would select it.
sleep 3
empty=""
sed "s/\\\$instance/127.0.0.1:$port/g" "$dash_exprs.raw" > "$tmp/dash-live"
while IFS= read -r e; do
  n=$(curl -sf --get "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$e" | jq '.data.result | length') || n=error
  [ "$n" != error ] && [ "$n" -gt 0 ] || empty+="$e -> $n"$'\n'
done < "$tmp/dash-live"
check "every dashboard query returns data from the real agent" sh -c "[ -z '$empty' ] || { printf '%s' '$empty'; false; }"

# Operators end an orphan with ffrtmp kill (cgroup-wide, though its shim is gone).
check "ffrtmp kill ends the orphaned job and the running agent job" sh -c \
  "'$bin/ffrtmp' kill mon-orphan --grace 1 > /dev/null && '$bin/ffrtmp' kill mon-b.a1 --grace 1 > /dev/null"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
