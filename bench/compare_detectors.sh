#!/usr/bin/env bash
# The detectors faceserve can be configured with, side by side on this machine:
# recall on ../shared/data/faces/detect/ (43 hand-drawn faces, IoU 0.4) and
# false positives on its photos without a face (and the bench/ ones), the
# detector's own time per image (bench/model_limit), and full Analyze
# throughput at concurrency 16 on face-api's demo photos with every predictor.
# Writes bench/results/detectors-<date>.{json,md}.
#
#   bench/compare_detectors.sh          (after scripts/bootstrap.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SECONDS_PER_POINT=${BENCH_SECONDS:-15}
PORT=${BENCH_PORT:-50093}
MODELS=${MODELS_DIR:-models/exported}
SHARED=../shared/data/faces
DEMO=models/reference/node_modules/@vladmandic/face-api/demo
OUT=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$OUT"' EXIT
for bin in faceserve facectl model_limit; do
  [[ -x $BUILD/bin/$bin ]] || { echo "missing $BUILD/bin/$bin: run scripts/bootstrap.sh" >&2; exit 1; }
done
FACECTL=("$BUILD/bin/facectl" --server "127.0.0.1:$PORT" --timeout-ms 120000)

# The evaluation set: detect/ (annotated, and 4 photos without a face) plus
# the other photos without a face in bench/.
mkdir -p "$OUT/set/images"
cp "$SHARED"/detect/images/* "$OUT/set/images/"
cp "$SHARED"/detect/boxes.csv "$OUT/set/boxes.csv"
{ echo image; cut -d, -f1 "$SHARED"/detect/images.csv | tail -n +2
  for f in "$SHARED"/bench/noface_human_* "$SHARED"/bench/noface_insight_*; do
    cp "$f" "$OUT/set/images/"; basename "$f"; done; } >"$OUT/set/images.csv"

# name | overrides (score threshold and NMS IoU from each model's card)
DETECTORS=(
  "ssd_mobilenetv1|--set detector.name=ssd_mobilenetv1 --set detector.model=ssd_mobilenetv1.pt --set detector.nms_iou=0.5"
  "tiny_face_detector|--set detector.name=tiny_face_detector --set detector.model=tiny_face_detector.pt --set detector.nms_iou=0.4"
  "retinaface_mnet025|--set detector.name=retinaface_mnet025 --set detector.model=retinaface_mnet025.pt --set detector.nms_iou=0.4"
  "mtcnn|--set detector.name=mtcnn --set detector.model=mtcnn.pt --set detector.nms_iou=0.7 --set detector.min_score=0.7"
)
ran=()
for entry in "${DETECTORS[@]}"; do
  name=${entry%%|*}
  read -r -a sets <<<"${entry#*|}"
  if [[ ! -f $MODELS/$name.pt ]]; then
    echo "skipping $name: $MODELS/$name.pt not exported (optional weights)" >&2
    continue
  fi
  ran+=("$name")
  echo "$name: detector time (model_limit)" >&2
  "$BUILD/bin/model_limit" --config config/default.yaml "${sets[@]}" --set models_dir="$MODELS" \
    --seconds-per-point 2 --json >"$OUT/$name-limit.json"
  "$BUILD/bin/faceserve" --config config/default.yaml "${sets[@]}" --set models_dir="$MODELS" \
    --set server.listen="127.0.0.1:$PORT" --set metrics.listen= >"$OUT/$name-server.log" 2>&1 &
  pid=$!
  "${FACECTL[@]}" health --wait 120 >/dev/null
  echo "$name: recall and false positives" >&2
  "${FACECTL[@]}" eval-detect "$OUT/set/boxes.csv" --images "$OUT/set/images.csv" --json \
    >"$OUT/$name-eval.json"
  echo "$name: Analyze throughput at concurrency 16, ${SECONDS_PER_POINT} s" >&2
  "${FACECTL[@]}" bench --concurrency 4 --duration 3 "$DEMO"/sample{1,2,3,4,5,6}.jpg >/dev/null
  "${FACECTL[@]}" bench --concurrency 16 --duration "$SECONDS_PER_POINT" --json \
    "$DEMO"/sample{1,2,3,4,5,6}.jpg >"$OUT/$name-bench.json" || true
  kill -TERM "$pid"; wait "$pid" || true
done

mkdir -p bench/results
/usr/bin/python3 - "$OUT" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo -dirty)" \
  "bench/results/detectors-$(date -u +%F)" "$MODELS" "${ran[@]}" <<'EOF'
import datetime, json, os, platform, re, sys
raw, commit, out, models, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
def input_size(name):
    with open(os.path.join(models, name + ".yaml")) as f:
        m = re.search(r"shape: \[3, (\d+), (\d+)\]", f.read())
    return "%sx%s" % (m.group(2), m.group(1)) if m else "?"
def load(path):
    with open(path) as f:
        return json.loads(f.read().strip().splitlines()[-1])
rows = {}
for n in names:
    limit = load(os.path.join(raw, n + "-limit.json"))
    det = next(m for m in limit["models"] if m["role"] == "detector")
    rows[n] = {"eval": load(os.path.join(raw, n + "-eval.json")),
               "detector": det, "bench": load(os.path.join(raw, n + "-bench.json"))}
date = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
with open(out + ".json", "w") as f:
    json.dump({"date": date, "commit": commit, "cores": os.cpu_count(), "detectors": rows}, f, indent=1)
lines = [
    "# Detectors compared, %s" % date[:10], "",
    "Machine: %d cores, %s. Commit %s. Reproduce: `bench/compare_detectors.sh`. Recall: "
    "`facectl eval-detect` on `../shared/data/faces/detect/` (43 hand-drawn faces in 9 PASCAL VOC "
    "photos; IoU 0.4, since dlib's boxes are tight squares) at each detector's default score "
    "threshold (0.5; MTCNN 0.7, O-Net's); false positives: detections on the 6 photos without a face. Detector time: "
    "`bench/model_limit`, the detector alone at batch 1 (one stream: latency; all streams: time "
    "per image at full load). Analyze: `facectl bench --concurrency 16` on face-api's six demo "
    "photos, every predictor on." % (os.cpu_count(), platform.platform(), commit), "",
    "| detector | input | recall | unmatched detections | false positives | detector ms/image "
    "(batch 1, one stream / all streams) | Analyze images/s | faces/image |",
    "|---|---|---|---|---|---|---|---|",
]
for n, r in rows.items():
    e, d, b = r["eval"], r["detector"], r["bench"]
    one = next(p for p in d["points"] if p["batch"] == 1)
    lines.append("| %s | %s | %d/%d = %.3f | %d | %d on %d photos | %.1f / %.1f | %.2f | %.2f |" % (
        n, input_size(n), e["matched_faces"], e["annotated_faces"], e["recall"],
        e["unmatched_detections"], e["false_positives"], e["no_face_images"],
        one["ms_per_batch"], one["ms_per_item_all_streams"], b["images_per_s"], b["faces_per_image"]))
lines.append("")
with open(out + ".md", "w") as f:
    f.write("\n".join(lines))
print("\n".join(lines))
EOF
