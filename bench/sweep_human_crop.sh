#!/usr/bin/env bash
# How large a crop of the detector's box the human-models predictors of
# config/full.yaml should see (crop.scale of square_box). human cuts 1.4x its
# BlazeFace boxes; RetinaFace's boxes are larger. For each scale, faceserve
# runs full.yaml with every human-models predictor at that scale over the
# demo and group photos, and bench/eval_human_crop.py scores the answers
# against the face-api models that ran beside them: mesh points against the
# 68 landmarks, emotion against confident face-api expressions, the share of
# camera faces called real / live.
#
#   BUILD=build bench/sweep_human_crop.sh [SCALE...]    (default 1.0 1.1 1.2 1.4 1.7 2.0)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PORT=${PORT:-50177}
SCALES=("$@")
[[ ${#SCALES[@]} -gt 0 ]] || SCALES=(1.0 1.1 1.2 1.4 1.7 2.0)
OUT=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$OUT"' EXIT
FACECTL=("$BUILD/bin/facectl" --server "127.0.0.1:$PORT")
PHOTOS=(models/reference/node_modules/@vladmandic/face-api/demo/sample*.jpg
        ../shared/data/faces/bench/group_*.jpg)
# Indices of the human-models predictors in config/full.yaml.
mapfile -t HM < <(awk '/^  - name:/ {i++} /model: hm_/ {print i - 1}' config/full.yaml)
for s in "${SCALES[@]}"; do
  sets=()
  for i in "${HM[@]}"; do sets+=(--set "predictors.$i.crop.scale=$s"); done
  "$BUILD/bin/faceserve" --config config/full.yaml --set server.listen="127.0.0.1:$PORT" \
    --set metrics.listen= --set http.listen= --set server.max_concurrent_calls=64 "${sets[@]}" >"$OUT/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 120); do "${FACECTL[@]}" health >/dev/null 2>&1 && break; sleep 1; done
  "${FACECTL[@]}" analyze "${PHOTOS[@]}" >"$OUT/scale-$s.jsonl"
  kill -TERM "$pid"; wait "$pid" || true
done
/usr/bin/python3 bench/eval_human_crop.py "$OUT"/scale-*.jsonl
