#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests, on loopback only, in a temp dir.
#   scripts/pg-test-server.sh start DIR PORT   -> prints the postgres:// URL
#   scripts/pg-test-server.sh stop DIR
# Runs the server as the 'postgres' user (it refuses root), with trust auth on 127.0.0.1.
set -euo pipefail
cmd=$1 dir=$2
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
as_pg() { runuser -u postgres -- "$@"; }
case "$cmd" in
  start)
    port=$3
    mkdir -p "$dir"
    chown postgres: "$dir"
    as_pg "$bin/initdb" -D "$dir/data" --auth=trust -U postgres >/dev/null
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    [ -d "$dir/data" ] && as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
