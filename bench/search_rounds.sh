#!/usr/bin/env bash
# The Search RPC on a gallery database made earlier (e.g. one kept from
# bench/gallery_ann.sh), under settings given as --set overrides: starts
# the server on it, warms up, then runs ROUNDS rounds of SECONDS seconds
# from 16 closed-loop clients and prints one JSON line per round.
#
#   bench/search_rounds.sh DB.sqlite PROBES.jsonl GALLERY [--set key=value ...]
#   e.g. bench/search_rounds.sh /tmp/g.sqlite /tmp/probes.jsonl bench \
#          --set gallery.index.hnsw.ef_search=96
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 3 ] || { sed -n 2,9p "$0" >&2; exit 2; }
db=$1 probes=$2 gallery=$3
shift 3
BUILD=${BUILD:-build}
PORT=${BENCH_PORT:-50097}
ROUNDS=${BENCH_ROUNDS:-3}
SECONDS_PER_ROUND=${BENCH_SECONDS:-15}
FACECTL=("$BUILD/bin/facectl" --server "127.0.0.1:$PORT" --timeout-ms 120000)
log=$(mktemp)
"$BUILD/bin/faceserve" --config config/default.yaml --set server.listen="127.0.0.1:$PORT" \
  --set metrics.listen= --set http.listen= --set gallery.sqlite.path="$db" "$@" >"$log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true; rm -f "$log"' EXIT
"${FACECTL[@]}" health --service faceserve.v1.GalleryService --wait 3600 >/dev/null
grep -o "loaded its approximate index.*" "$log" >&2 || true
"${FACECTL[@]}" bench --rpc search --gallery "$gallery" --concurrency 4 --duration 3 "$probes" \
  >/dev/null
for round in $(seq "$ROUNDS"); do
  "${FACECTL[@]}" bench --rpc search --gallery "$gallery" --concurrency 16 \
    --duration "$SECONDS_PER_ROUND" --json "$probes" | tr -d '\n'
  echo
done
