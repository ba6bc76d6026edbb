#!/usr/bin/env bash
# Overload benchmark: faceserve on config/default.yaml (real models, CPU),
# offered open-loop load (facectl bench --rate) at 2x, 5x and 20x its measured
# capacity, at two settings of server.max_concurrent_calls: the default and
# one sized for a latency bound. Records, per point: answered images/s,
# refused calls/s, latency of answered calls (p50/p99/max), latency of refusals
# (p50/p99), peak resident memory of the server (VmHWM), and a call alone
# after the load. Writes bench/results/overload-<date>.{json,md}.
#
#   bench/run_overload.sh                  (after scripts/bootstrap.sh)
#   OVERLOAD_SECONDS=30 LIMITS="256 16" bench/run_overload.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SECONDS_PER_POINT=${OVERLOAD_SECONDS:-15}
LIMITS=${LIMITS:-"256 32"}
PORT=${BENCH_PORT:-50092}
DEMO=models/reference/node_modules/@vladmandic/face-api/demo
IMAGES=("$DEMO"/sample{1,2,3,4,5,6}.jpg)
OUT=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$OUT"' EXIT
for bin in faceserve facectl; do
  [[ -x $BUILD/bin/$bin ]] || { echo "missing $BUILD/bin/$bin: run scripts/bootstrap.sh" >&2; exit 1; }
done
FACECTL=("$BUILD/bin/facectl" --server "127.0.0.1:$PORT" --timeout-ms 120000)
memory() { awk -v f="$2:" '$1 == f { print $2 * 1024 }' "/proc/$1/status"; }

for limit in $LIMITS; do
  "$BUILD/bin/faceserve" --config config/default.yaml --set server.listen="127.0.0.1:$PORT" \
    --set metrics.listen= --set http.listen= --set server.max_concurrent_calls="$limit" \
    >"$OUT/server-$limit.log" 2>&1 &
  pid=$!
  for _ in $(seq 120); do "${FACECTL[@]}" health >/dev/null 2>&1 && break; sleep 1; done
  "${FACECTL[@]}" bench --concurrency 4 --duration 3 "${IMAGES[@]}" >/dev/null  # warm-up
  echo "limit $limit: capacity (closed loop, concurrency 16)" >&2
  "${FACECTL[@]}" bench --concurrency 16 --duration "$SECONDS_PER_POINT" --json "${IMAGES[@]}" \
    >"$OUT/$limit-capacity.json"
  "${FACECTL[@]}" bench --concurrency 1 --requests 12 --json "${IMAGES[@]}" >"$OUT/$limit-alone-before.json"
  echo "{\"rss\": $(memory "$pid" VmRSS), \"hwm\": $(memory "$pid" VmHWM)}" >"$OUT/$limit-idle.json"
  capacity=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['images_per_s'])" \
    "$OUT/$limit-capacity.json")
  for factor in 2 5 20; do
    rate=$(/usr/bin/python3 -c "print(round($capacity * $factor, 1))")
    echo "limit $limit: offered ${factor}x capacity = $rate calls/s for ${SECONDS_PER_POINT} s" >&2
    # Failed calls (the refusals) make facectl exit 1; they are what is measured.
    "${FACECTL[@]}" bench --rate "$rate" --concurrency 4096 --duration "$SECONDS_PER_POINT" \
      --json "${IMAGES[@]}" >"$OUT/$limit-x$factor.json" || true
    echo "{\"hwm\": $(memory "$pid" VmHWM)}" >"$OUT/$limit-x$factor-memory.json"
  done
  "${FACECTL[@]}" bench --concurrency 1 --requests 12 --json "${IMAGES[@]}" >"$OUT/$limit-alone-after.json"
  kill -TERM "$pid"; wait "$pid" || true
done

mkdir -p bench/results
/usr/bin/python3 bench/summarize_overload.py "$OUT" --limits $LIMITS \
  --seconds "$SECONDS_PER_POINT" \
  --commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo -dirty)" \
  --out bench/results/overload-"$(date -u +%F)"
