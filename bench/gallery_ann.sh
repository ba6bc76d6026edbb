#!/usr/bin/env bash
# The approximate gallery index (issue 28) at 100 000 and 1 000 000 faces of
# face-like synthetic data (bench/make_face_like_data.py: a Gaussian fitted
# to real descriptors of ../shared/data/faces, which the server embeds
# first):
#  1. in process (bench/gallery_ann): agreement with exact search (rank-1
#     on mated probes, identified/unknown on all probes) for ef_search 64,
#     96, 128 and 256, build time, memory, snapshot size, save and load times,
#     with the vectors in half precision (the server's default) and single;
#  2. on the real server: import (4 faces per subject, one Enroll each),
#     the start that builds the graph and saves its snapshot, a cold start
#     (page cache dropped, when this machine allows it) and a warm one from
#     the snapshot, the server's resident memory, and the Search RPC over
#     loopback from 16 closed-loop clients, BENCH_ROUNDS rounds of
#     BENCH_SECONDS each (p99 judged on the median round).
# Writes bench/results/gallery-ann-<date>.{json,md}.
#
#   bench/gallery_ann.sh                   (after scripts/bootstrap.sh)
#   BENCH_SIZES=100000 bench/gallery_ann.sh
#   BENCH_PRECISIONS=half bench/gallery_ann.sh   (skip the single-precision graphs)
#   BENCH_KEEP=DIR bench/gallery_ann.sh   (keeps each size's database, snapshot
#     and probes in DIR, for bench/search_rounds.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SIZES=${BENCH_SIZES:-"100000 1000000"}
ROUNDS=${BENCH_ROUNDS:-3}
SECONDS_PER_ROUND=${BENCH_SECONDS:-15}
PROBES=${BENCH_PROBES:-4000}
PORT=${BENCH_PORT:-50093}
PHOTOS=${BENCH_PHOTOS:-../shared/data/faces}
PRECISIONS=${BENCH_PRECISIONS:-"half single"}
KEEP=${BENCH_KEEP:-}
OUT=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$OUT"' EXIT
FACECTL=("$BUILD/bin/facectl" --server "127.0.0.1:$PORT" --timeout-ms 120000)
PY=/usr/bin/python3

start_server() {  # $1: database, $2: log, then --set overrides
  local db=$1 log=$2
  shift 2
  "$BUILD/bin/faceserve" --config config/default.yaml --set server.listen="127.0.0.1:$PORT" \
    --set metrics.listen= --set http.listen= --set gallery.sqlite.path="$db" "$@" >"$log" 2>&1 &
  SERVER=$!
  "${FACECTL[@]}" health --service faceserve.v1.GalleryService --wait 3600 >/dev/null
}
stop_server() { kill -TERM "$SERVER"; wait "$SERVER" || true; }
rss_mb() { awk '/VmRSS/ {print $2 / 1024}' "/proc/$SERVER/status"; }
seconds_in() {  # $1: log, $2: what the line says before " in <t> s"
  grep -o "$2.* in [0-9.]* s" "$1" | tail -1 | sed 's/.* in \([0-9.]*\) s/\1/'
}

echo '{}' >"$OUT/results.json"
record() { $PY bench/record_result.py "$OUT/results.json" "$1" "$2"; }  # key, JSON value

# Real descriptors, for the fit.
start_server "$OUT/descriptors.sqlite" "$OUT/server-descriptors.log"
read -r model threshold <<<"$("${FACECTL[@]}" gallery create probe |
  $PY -c 'import json,sys; g=json.load(sys.stdin); print(g["descriptor_model"], g["threshold"])')"
bench/real_descriptors.sh "127.0.0.1:$PORT" "$OUT/descriptors.jsonl" "$PHOTOS"
stop_server

for size in $SIZES; do
  data="$OUT/data-$size"
  echo "$size faces: data" >&2
  meta=$($PY bench/make_face_like_data.py "$OUT/descriptors.jsonl" "$data" "$size" "$PROBES" \
    --gallery-file bench "$model" "$threshold" --faces-per-subject 4)
  record "data_$size" "$meta"
  # The server's graph (m 32, ef_construction 200, halves), and the same
  # with single-precision vectors, which halves were chosen over.
  for precision in $PRECISIONS; do
    key=in_process_$size
    [ "$precision" = half ] || key=in_process_${precision}_$size
    echo "$size faces: in process, $precision precision (exact reference, build, ef_search 64/96/128/256)" >&2
    record "$key" "$("$BUILD/bin/gallery_ann" --data "$data" --ef 64,96,128,256 --m 32 \
      --ef-construction 200 --precision "$precision" --threshold "$threshold")"
  done

  db="$OUT/g-$size.sqlite"
  echo "$size faces: import" >&2
  start_server "$db" "$OUT/import-$size.log" --set gallery.index.approximate_from_faces=1000000000
  t0=$(date +%s.%N)
  "${FACECTL[@]}" gallery import "$data/gallery.jsonl" --concurrency 8 >/dev/null
  t1=$(date +%s.%N)
  stop_server
  echo "$size faces: first start (builds the graph, saves it)" >&2
  start_server "$db" "$OUT/build-$size.log"
  stop_server
  snapshot_mb=$(du -sm "$db.index" | cut -f1)
  cold=null
  if sync && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then
    start_server "$db" "$OUT/cold-$size.log"
    cold=$(seconds_in "$OUT/cold-$size.log" "from the snapshot")
    stop_server
  fi
  start_server "$db" "$OUT/warm-$size.log"
  warm=$(seconds_in "$OUT/warm-$size.log" "from the snapshot")
  record "server_$size" "{\"import_s\": $($PY -c "print($t1 - $t0)"), \
\"build_s\": $(seconds_in "$OUT/build-$size.log" "built its approximate index"), \
\"save_s\": $(seconds_in "$OUT/build-$size.log" "saved its approximate index"), \
\"snapshot_mb\": $snapshot_mb, \"load_cold_s\": $cold, \"load_warm_s\": $warm, \
\"rss_mb\": $(rss_mb)}"
  "${FACECTL[@]}" bench --rpc search --gallery bench --concurrency 4 --duration 3 \
    "$data/probes.jsonl" >/dev/null
  for round in $(seq "$ROUNDS"); do
    echo "$size faces: Search at concurrency 16, round $round" >&2
    "${FACECTL[@]}" bench --rpc search --gallery bench --concurrency 16 \
      --duration "$SECONDS_PER_ROUND" --json "$data/probes.jsonl" >"$OUT/b.json" || true
    record "search_${size}_r$round" "$(cat "$OUT/b.json")"
  done
  stop_server
  if [ -n "$KEEP" ]; then  # for bench/search_rounds.sh
    mkdir -p "$KEEP"
    mv "$db"* "$KEEP/"
    mv "$data/probes.jsonl" "$KEEP/probes-$size.jsonl"
  fi
  rm -rf "$data" "$db"*
done

stamp=$(date +%Y-%m-%d)
mkdir -p bench/results
$PY bench/summarize_gallery_ann.py "$OUT/results.json" "bench/results/gallery-ann-$stamp" \
  "$(git rev-parse --short HEAD)$(git diff --quiet || echo -dirty)"
echo "wrote bench/results/gallery-ann-$stamp.{json,md}" >&2
