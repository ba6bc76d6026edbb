#!/usr/bin/env bash
# Galleries on PostgreSQL shared by two replicas (issue 33): start-up load
# of a 1 M-face gallery from the database, propagation from one replica to
# the other (p50/p99), and enroll throughput, in a throwaway cluster
# (scripts/throwaway_postgres.sh, PostgreSQL 15's default settings).
#
#   bench/pg_replicas.sh [FACES]     (default 1000000; ~3 min at 1 M)
#
# Prints bench/pg_replicas's JSON lines; a second load follows a restart of
# PostgreSQL with the page cache dropped (cold), the first comes right after
# the bulk insert (warm). Needs scripts/bootstrap.sh's build and root for
# the cache drop (skipped otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
FACES=${1:-1000000}
DIR=${PG_BENCH_DIR:-/tmp/faceserve-pg-bench}
trap 'scripts/throwaway_postgres.sh stop "$DIR"' EXIT
scripts/throwaway_postgres.sh start "$DIR" >&2
DSN=$(cat "$DIR/dsn")
echo "{\"machine\": \"$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\", \"commit\": \"$(git rev-parse --short HEAD)\", \"postgres\": \"$(/usr/lib/postgresql/15/bin/postgres --version)\"}"
build/bin/pg_replicas --dsn "$DSN" --faces "$FACES"
scripts/throwaway_postgres.sh halt "$DIR" >&2
if [[ $(id -u) == 0 ]]; then sync && echo 3 >/proc/sys/vm/drop_caches; fi
scripts/throwaway_postgres.sh resume "$DIR" >&2
echo '{"note": "cold: PostgreSQL restarted, page cache dropped"}'
build/bin/pg_replicas --dsn "$DSN" --faces "$FACES" --propagation 50 --enroll-seconds 5
