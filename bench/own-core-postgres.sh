#!/usr/bin/env bash
# A private Postgres on CPU 0, for measuring the drain the way production runs it: the database
# on a CPU of its own (Neon, RDS, another host), the worker on another. Run the bench pinned to
# CPU 1 against it:
#
#   bash bench/own-core-postgres.sh start     # prints the BENCH_DATABASE_URL to use
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5499/test BENCH_DATABASE_CPUS=0 \
#     taskset -c 1 npm run bench -- --only drain --systems ours --modes default,default-observed-10pct
#   bash bench/own-core-postgres.sh stop
#
# Needs Linux, taskset (util-linux) and PostgreSQL's server binaries (initdb, pg_ctl: Debian's
# postgresql package puts them in /usr/lib/postgresql/<version>/bin). Default settings (fsync,
# synchronous_commit and autovacuum on), port 5499 (BENCH_OWN_CORE_PORT), data under
# .cache/bench/own-core-postgres (removed by `stop`). Run as root, it runs Postgres as `postgres`.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${BENCH_OWN_CORE_PORT:-5499}"
DIR="$PWD/.cache/bench/own-core-postgres"
BIN="$(dirname "$(command -v pg_ctl || ls -d /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")"
as_owner() { if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else bash -c "$*"; fi; }

case "${1:-}" in
  start)
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres "$DIR"
    [ -f "$DIR/data/PG_VERSION" ] || as_owner "'$BIN/initdb' -D '$DIR/data' -U postgres --auth=trust" > /dev/null
    # Every process Postgres starts inherits the postmaster's CPU.
    as_owner "taskset -c 0 '$BIN/pg_ctl' -D '$DIR/data' -l '$DIR/log' -w \
      -o '-p $PORT -k $DIR -c listen_addresses=127.0.0.1' start" > /dev/null
    psql -h 127.0.0.1 -p "$PORT" -U postgres -qtc "select 1 from pg_database where datname = 'test'" | grep -q 1 \
      || psql -h 127.0.0.1 -p "$PORT" -U postgres -qc "create database test"
    echo "BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/test BENCH_DATABASE_CPUS=0 (Postgres on CPU 0: run the bench with taskset -c 1)"
    ;;
  stop)
    [ -f "$DIR/data/postmaster.pid" ] && as_owner "'$BIN/pg_ctl' -D '$DIR/data' -m fast -w stop" > /dev/null
    rm -rf "$DIR"
    ;;
  *)
    echo "usage: bash bench/own-core-postgres.sh start|stop" >&2
    exit 2
    ;;
esac
