#!/usr/bin/env bash
# The CPU benchmark, recorded side by side in one run on this machine:
#  1. faceserve Analyze at concurrency 1, 4, 16, 64 with batching on
#     (config/faceapi.yaml: face-api's own models, to compare like for like
#     with face-api) and off (config/faceapi-unbatched.yaml);
#  2. the raw model limit: the models alone at their best batch size, same
#     threads, no server (bench/model_limit);
#  3. face-api's own pipeline on Node, tfjs wasm backend, one process per core;
#  4. paired rounds (BENCH_ROUNDS, default 5): the raw model limit, faceserve at
#     concurrency 16 and face-api, one right after the other, so that each
#     round's ratios come from minutes of the same machine speed (this VM's
#     speed drifts; bench/results/cpu-2026-*.md). The targets are judged
#     on the median of the rounds' ratios.
# All on face-api's six demo photos. Writes bench/results/cpu-<date>-<cpu>.{json,md}
# (<cpu>: e.g. intel-xeon, amd-epyc; these VMs differ 2x in model speed).
#
#   bench/run_cpu.sh                 (after scripts/bootstrap.sh)
#   BENCH_SECONDS=30 BUILD=build bench/run_cpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SECONDS_PER_POINT=${BENCH_SECONDS:-20}
ROUNDS=${BENCH_ROUNDS:-5}
PORT=${BENCH_PORT:-50091}
DEMO=models/reference/node_modules/@vladmandic/face-api/demo
IMAGES=("$DEMO"/sample{1,2,3,4,5,6}.jpg)
OUT=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$OUT"' EXIT
for bin in faceserve facectl model_limit; do
  [[ -x $BUILD/bin/$bin ]] || { echo "missing $BUILD/bin/$bin: run scripts/bootstrap.sh" >&2; exit 1; }
done
FACECTL=("$BUILD/bin/facectl" --server "127.0.0.1:$PORT")

# max_concurrent_calls 256: every point queues its calls rather than refusing
# some (the overload behaviour is bench/run_overload.sh's).
run_server_points() {  # $1: config file, $2: label
  "$BUILD/bin/faceserve" --config "$1" --set server.listen="127.0.0.1:$PORT" \
    --set metrics.listen= --set http.listen= --set server.max_concurrent_calls=256 >"$OUT/server-$2.log" 2>&1 &
  local pid=$!
  for _ in $(seq 120); do "${FACECTL[@]}" health >/dev/null 2>&1 && break; sleep 1; done
  "${FACECTL[@]}" bench --concurrency 4 --duration 3 "${IMAGES[@]}" >/dev/null  # warm-up
  for c in 1 4 16 64; do
    echo "faceserve ($2) concurrency $c: ${SECONDS_PER_POINT} s" >&2
    # A long deadline: at concurrency 64 a request queues behind 63 others;
    # failed calls are counted in the summary (facectl then exits 1).
    "${FACECTL[@]}" --timeout-ms 120000 bench --concurrency "$c" --duration "$SECONDS_PER_POINT" \
      --json "${IMAGES[@]}" >"$OUT/$2-c$c.json" || true
  done
  kill -TERM "$pid"; wait "$pid" || true
}

run_server_points config/faceapi.yaml batched
run_server_points config/faceapi-unbatched.yaml unbatched

echo "raw model limit" >&2
"$BUILD/bin/model_limit" --config config/faceapi.yaml --json >"$OUT/model_limit.json"

run_faceapi() {  # $1: output prefix; one process per core
  local pids=()
  for i in $(seq "$(nproc)"); do
    node bench/faceapi_throughput.js --seconds "$SECONDS_PER_POINT" "${IMAGES[@]}" >"$1-$i.json" &
    pids+=($!)
  done
  wait "${pids[@]}"  # not a bare wait: the server of the paired rounds runs in the background
}
echo "face-api (tfjs wasm), $(nproc) processes: ${SECONDS_PER_POINT} s" >&2
run_faceapi "$OUT/faceapi"

"$BUILD/bin/faceserve" --config config/faceapi.yaml --set server.listen="127.0.0.1:$PORT" \
  --set metrics.listen= --set http.listen= --set server.max_concurrent_calls=256 >"$OUT/server-rounds.log" 2>&1 &
server=$!
for _ in $(seq 120); do "${FACECTL[@]}" health >/dev/null 2>&1 && break; sleep 1; done
for r in $(seq "$ROUNDS"); do
  echo "paired round $r of $ROUNDS: model limit, faceserve c16, face-api" >&2
  # The server sits idle (no calls) while the other two run. 2 s per batch
  # size, as in the table above: the limit takes the best of noisy points,
  # and 1 s points on this VM let noise lift it by several percent.
  "$BUILD/bin/model_limit" --config config/faceapi.yaml --seconds-per-point 2 --json \
    >"$OUT/round$r-model_limit.json"
  "${FACECTL[@]}" --timeout-ms 120000 bench --concurrency 16 --duration "$SECONDS_PER_POINT" \
    --json "${IMAGES[@]}" >"$OUT/round$r-c16.json" || true
  run_faceapi "$OUT/round$r-faceapi"
done
kill -TERM "$server"; wait "$server" || true

# "AMD EPYC 7B13" -> amd-epyc, "Intel(R) Xeon(R) Processor" -> intel-xeon: the first two words of lscpu's model name.
cpu_tag() {
  lscpu | sed -n 's/^Model name: *//p' | head -1 | tr 'A-Z' 'a-z' | sed 's/([a-z]*)//g' |
    awk '{print $1 "-" $2}' | tr -c 'a-z0-9-\n' '-'
}

mkdir -p bench/results
/usr/bin/python3 bench/summarize_cpu.py "$OUT" \
  --commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo -dirty)" \
  --out bench/results/cpu-"$(date -u +%F)-$(cpu_tag)"
