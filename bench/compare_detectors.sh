#!/usr/bin/env bash
# The detectors faceserve can be configured with, side by side on this machine:
# recall on ../shared/data/faces/detect/ (43 hand-drawn faces, IoU 0.4) and
# false positives on its photos without a face (and the bench/ ones), the
# detector's own time per image (bench/model_limit), and full Analyze
# throughput at concurrency 16 on face-api's demo photos with face-api's four
# predictors (config/faceapi.yaml with only the detector swapped), and the
# face-size sweep (facectl eval-face-sizes: three portraits, their face 3-90 %
# of images 640-4000 px long, 690 images). The
# throughput points run in interleaved rounds (every detector once per round)
# and the median is reported, since this VM's speed drifts within minutes.
# Writes bench/results/detectors-<date>.{json,md}.
#
#   bench/compare_detectors.sh          (after scripts/bootstrap.sh)
#   BENCH_ROUNDS=3 BENCH_SECONDS=15 BASE_CONFIG=config/faceapi.yaml (defaults)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SECONDS_PER_POINT=${BENCH_SECONDS:-15}
ROUNDS=${BENCH_ROUNDS:-3}
BASE=${BASE_CONFIG:-config/faceapi.yaml}
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

# Set 1, detect/: annotated photos (and 4 without a face) plus the other
# photos without a face in bench/.
mkdir -p "$OUT/set/images"
cp "$SHARED"/detect/images/* "$OUT/set/images/"
cp "$SHARED"/detect/boxes.csv "$OUT/set/boxes.csv"
{ echo image; cut -d, -f1 "$SHARED"/detect/images.csv | tail -n +2
  for f in "$SHARED"/bench/noface_human_* "$SHARED"/bench/noface_insight_*; do
    cp "$f" "$OUT/set/images/"; basename "$f"; done; } >"$OUT/set/images.csv"
# Set 2, close-ups: the 94 tight 150x150 face crops of verify/ (54 dlib chips,
# 40 of face-api's bbt examples), where the face fills the image. Each gets
# the box of its central two-thirds as its face: a detection of the whole
# face matches it at IoU 0.4, a part-face (an eye, a mouth) does not and
# counts as unmatched.
mkdir -p "$OUT/crops/images"
{ echo image,x1,y1,x2,y2
  for f in "$SHARED"/verify/*/dlib_*.jpg "$SHARED"/verify/bbt_*/faceapi_*.png; do
    name="$(basename "$(dirname "$f")")_$(basename "$f")"
    cp "$f" "$OUT/crops/images/$name"; echo "$name,25,25,125,125"; done; } >"$OUT/crops/boxes.csv"

# Set 3, the face-size sweep: portraits of three people over photos without a
# face (the images are made by facectl; the 5 landmarks come from the
# detector or, for the SSDs, from face-api's 68-point model).
SWEEP_PORTRAITS=("$SHARED"/verify/{shea_whigham,angelina_jolie,paul_rudd}/facenet_1.jpg)
SWEEP_BACKGROUNDS="$SHARED/bench/noface_human_background.jpg,$SHARED/bench/noface_dlib_horses.jpg,$SHARED/bench/noface_dlib_giraffe.jpg"

# label | model | overrides (score threshold and NMS IoU from each model's card;
# zoom-out and RetinaFace's threshold as config/default.yaml sets them)
ZOOM="--set detector.zoom_out.trigger_width=0.25 --set detector.zoom_out.canvas_scale=2.5"
DETECTORS=(
  "ssd_mobilenetv1|ssd_mobilenetv1|--set detector.nms_iou=0.5"
  "ssd_mobilenetv1 + zoom-out|ssd_mobilenetv1|--set detector.nms_iou=0.5 $ZOOM"
  "tiny_face_detector|tiny_face_detector|--set detector.nms_iou=0.4"
  "retinaface_mnet025|retinaface_mnet025|--set detector.nms_iou=0.4"
  "retinaface_mnet025 + zoom-out, min_score 0.5|retinaface_mnet025|--set detector.nms_iou=0.4 $ZOOM"
  "retinaface_mnet025 + zoom-out, min_score 0.7 (default)|retinaface_mnet025|--set detector.nms_iou=0.4 --set detector.min_score=0.7 $ZOOM"
  "mtcnn|mtcnn|--set detector.nms_iou=0.7 --set detector.min_score=0.7"
)
start_server() {  # detector overrides...
  "$BUILD/bin/faceserve" --config "$BASE" "$@" --set models_dir="$MODELS" \
    --set server.listen="127.0.0.1:$PORT" --set metrics.listen= --set http.listen= >>"$OUT/server.log" 2>&1 &
  pid=$!
  "${FACECTL[@]}" health --wait 120 >/dev/null
}
stop_server() { kill -TERM "$pid"; wait "$pid" || true; }
# An entry's label (a file name: spaces and brackets dropped), model and
# overrides, in $label $model $sets.
parse() {
  IFS='|' read -r label model rest <<<"$1"
  key=$(tr -c 'a-z0-9_\n' '_' <<<"$label")
  read -r -a sets <<<"--set detector.name=$model --set detector.model=$model.pt $rest"
}

for entry in "${DETECTORS[@]}"; do
  parse "$entry"
  [[ -f $MODELS/$model.pt ]] || { echo "$MODELS/$model.pt is not exported: run scripts/bootstrap.sh" >&2; exit 1; }
  if [[ ! -f $OUT/$model-limit.json ]]; then
    echo "$model: detector time (model_limit)" >&2
    "$BUILD/bin/model_limit" --config "$BASE" "${sets[@]}" --set models_dir="$MODELS" \
      --seconds-per-point 2 --json >"$OUT/$model-limit.json"
  fi
  start_server "${sets[@]}"
  echo "$label: recall and false positives, close-ups" >&2
  "${FACECTL[@]}" eval-detect "$OUT/set/boxes.csv" --images "$OUT/set/images.csv" --json \
    >"$OUT/$key-eval.json"
  "${FACECTL[@]}" eval-detect "$OUT/crops/boxes.csv" --json >"$OUT/$key-crops.json"
  echo "$label: face-size sweep" >&2
  # A detector that cannot locate a portrait's face at all has no reference
  # for it: its sweep is reported as not run, with the reason.
  "${FACECTL[@]}" eval-face-sizes "${SWEEP_PORTRAITS[@]}" --backgrounds "$SWEEP_BACKGROUNDS" \
    --predictors landmarks --json >"$OUT/$key-sweep.json" 2>"$OUT/$key-sweep.err" ||
    echo "$label: the sweep did not run: $(cat "$OUT/$key-sweep.err")" >&2
  stop_server
done
for round in $(seq "$ROUNDS"); do
  for entry in "${DETECTORS[@]}"; do
    parse "$entry"
    echo "round $round/$ROUNDS, $label: Analyze at concurrency 16, ${SECONDS_PER_POINT} s" >&2
    start_server "${sets[@]}"
    "${FACECTL[@]}" bench --concurrency 4 --duration 3 "$DEMO"/sample{1,2,3,4,5,6}.jpg >/dev/null
    "${FACECTL[@]}" bench --concurrency 16 --duration "$SECONDS_PER_POINT" --json \
      "$DEMO"/sample{1,2,3,4,5,6}.jpg >"$OUT/$key-bench-$round.json"
    stop_server
  done
done

mkdir -p bench/results
entries=()
for entry in "${DETECTORS[@]}"; do parse "$entry"; entries+=("$label|$key|$model"); done
BENCH_SECONDS=$SECONDS_PER_POINT /usr/bin/python3 - "$OUT" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo -dirty)" \
  "bench/results/detectors-$(date -u +%F)" "$MODELS" "$ROUNDS" "$BASE" "${entries[@]}" <<'EOF'
import datetime, json, os, platform, re, statistics, subprocess, sys
raw, commit, out, models, rounds, base, entries = (sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4],
                                                   int(sys.argv[5]), sys.argv[6], sys.argv[7:])
def input_size(name):
    with open(os.path.join(models, name + ".yaml")) as f:
        m = re.search(r"shape: \[3, (\d+), (\d+)\]", f.read())
    return "%sx%s" % (m.group(2), m.group(1)) if m else "?"
def load(path):
    with open(path) as f:
        return json.loads(f.read().strip().splitlines()[-1])
def sweep_counts(stem):
    if os.path.getsize(stem + ".json") == 0:
        with open(stem + ".err") as f:
            return {"error": f.read().strip()}
    sweep = load(stem + ".json")
    counts = {"images": len(sweep), "found": 0, "moved": 0, "extra": 0, "lost": 0}
    for row in sweep:
        counts[row["outcome"]] += 1
    lost = sorted({row["face_share"] for row in sweep if row["outcome"] == "lost"})
    counts["lost_shares"] = ["%g" % round(100 * s) for s in lost]
    return counts
rows = {}
for entry in entries:
    label, key, model = entry.split("|")
    limit = load(os.path.join(raw, model + "-limit.json"))
    det = next(m for m in limit["models"] if m["role"] == "detector")
    benches = [load(os.path.join(raw, "%s-bench-%d.json" % (key, r))) for r in range(1, rounds + 1)]
    rows[label] = {"model": model, "eval": load(os.path.join(raw, key + "-eval.json")),
                   "crops": load(os.path.join(raw, key + "-crops.json")), "detector": det,
                   "sweep": sweep_counts(os.path.join(raw, key + "-sweep")),
                   "benches": benches, "images_per_s": [b["images_per_s"] for b in benches],
                   "faces_per_image": benches[0]["faces_per_image"]}
date = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
cpu = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True,
                     text=True).stdout.strip() or platform.processor()
with open(out + ".json", "w") as f:
    json.dump({"date": date, "commit": commit, "cpu": cpu, "cores": os.cpu_count(), "detectors": rows}, f, indent=1)
lines = [
    "# Detectors compared, %s" % date[:10], "",
    "Machine: %s, %d cores, %s. Commit %s. Reproduce: `bench/compare_detectors.sh`." % (
        cpu, os.cpu_count(), platform.platform(), commit), "",
    "- **recall**: `facectl eval-detect` on `../shared/data/faces/detect/` (43 hand-drawn faces in 9 "
    "PASCAL VOC photos; IoU 0.4, since dlib's boxes are tight squares) at each detector's default "
    "score threshold (0.5; MTCNN 0.7, O-Net's; the default RetinaFace row 0.7, chosen from this table's two RetinaFace rows and the score measurements in README \"Models\"); **unmatched**: detections there that match no "
    "hand-drawn box (faces the annotators skipped, or false positives); **false positives**: "
    "detections on the 6 photos without a face.",
    "- **close-ups**: the 94 tight 150x150 face crops of `verify/` (54 dlib chips, 40 of face-api's "
    "bbt examples), each with the central two-thirds as its face box: found = the whole face "
    "detected (IoU 0.4), part-faces = other detections (eyes, mouths, ...).",
    "- **detector ms/image**: `bench/model_limit`, the detector alone at batch 1 (one stream: "
    "latency; all streams: time per image at full load); a zoom-out pass costs one more when it runs.",
    "- **Analyze images/s**: `facectl bench --concurrency 16` for %s s on face-api's six demo photos, "
    "`%s` with only the detector swapped (face-api's four predictors), median of %d interleaved "
    "rounds (each round's figure in brackets)." % (os.environ.get("BENCH_SECONDS", "15"), base, rounds),
    "- **sweep**: `facectl eval-face-sizes` (README \"Models\"): three portraits, the face 3-90 % of "
    "the longer side of images 640-4000 px long, landscape and portrait (690 images). found = "
    "exactly one face at IoU >= 0.6 with the reference box and its 5 landmarks within 5 % of "
    "the face's width; moved = that face with a landmark further off; extra = that face and "
    "another; lost = no face at IoU >= 0.6 (the face shares where it happened in brackets).", "",
    "| detector | input | recall | unmatched | false positives | close-ups: found / part-faces | "
    "sweep: found / moved / extra / lost | "
    "detector ms/image (one stream / all streams) | Analyze images/s | faces/image |",
    "|---|---|---|---|---|---|---|---|---|---|",
]
for label, r in rows.items():
    e, c, d = r["eval"], r["crops"], r["detector"]
    one = next(p for p in d["points"] if p["batch"] == 1)
    ips = r["images_per_s"]
    sw = r["sweep"]
    if "error" in sw:
        sweep_cell = "not run: %s" % sw["error"].replace("error: ", "").replace("|", "/")
    else:
        lost = "%d (%s %%)" % (sw["lost"], ", ".join(sw["lost_shares"])) if sw["lost"] else "0"
        sweep_cell = "%d / %d / %d / %s" % (sw["found"], sw["moved"], sw["extra"], lost)
    lines.append("| %s | %s | %d/%d = %.3f | %d | %d on %d photos | %d/%d / %d | %s | %.1f / %.1f | **%.2f** (%s) | %.2f |" % (
        label, input_size(r["model"]), e["matched_faces"], e["annotated_faces"], e["recall"],
        e["unmatched_detections"], e["false_positives"], e["no_face_images"],
        c["matched_faces"], c["annotated_faces"], c["unmatched_detections"],
        sweep_cell,
        one["ms_per_batch"], one["ms_per_item_all_streams"], statistics.median(ips),
        ", ".join("%.2f" % v for v in ips), r["faces_per_image"]))
lines.append("")
with open(out + ".md", "w") as f:
    f.write("\n".join(lines))
print("\n".join(lines))
EOF
