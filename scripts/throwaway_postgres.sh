#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (issue 33): initdb in a
# temporary directory, started on a free loopback port, removed afterwards.
# As root it runs as the postgres user (runuser), as PostgreSQL refuses root.
#
#   scripts/throwaway_postgres.sh start DIR   makes DIR/ (stopping and removing
#                                             an old one), starts the server,
#                                             writes its libpq connection string
#                                             to DIR/dsn
#   scripts/throwaway_postgres.sh stop DIR    stops it and removes DIR/
#   scripts/throwaway_postgres.sh halt DIR    stops the server, keeps its data
#   scripts/throwaway_postgres.sh resume DIR  starts it again on the same port
#                                             (the fault tests: PostgreSQL away
#                                             and back)
#
# Environment: PG_BINDIR (default: Debian's /usr/lib/postgresql/15/bin).
set -euo pipefail

BIN=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
dir=${2:-}
[[ -n $cmd && -n $dir ]] || { echo "usage: $0 start|stop|halt|resume DIR" >&2; exit 2; }

as_owner() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case $cmd in
  start)
    [[ -x $BIN/initdb ]] || { echo "no $BIN/initdb (scripts/bootstrap.sh installs postgresql-15)" >&2; exit 1; }
    # A cluster left by an interrupted run goes first.
    [[ ! -e $dir ]] || "$0" stop "$dir"
    mkdir -p "$dir"
    [[ $(id -u) != 0 ]] || chown postgres: "$dir"
    chmod 700 "$dir"
    port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # trust: a throwaway cluster that only listens on loopback and a socket
    # in its own directory; fsync stays on (the tests kill -9 writers).
    as_owner "$BIN/initdb" -D "$dir/data" -U faceserve -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    echo "$port" >"$dir/port"
    "$0" resume "$dir"
    echo "host=127.0.0.1 port=$port user=faceserve dbname=postgres" >"$dir/dsn"
    chmod 644 "$dir/dsn"
    echo "PostgreSQL on 127.0.0.1:$port ($dir)"
    ;;
  resume)
    port=$(cat "$dir/port")
    as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null ||
      { cat "$dir/server.log" >&2; exit 1; }
    ;;
  halt)
    as_owner "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  stop)
    if [[ -d $dir/data ]]; then
      as_owner "$BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|stop|halt|resume DIR" >&2
    exit 2
    ;;
esac
