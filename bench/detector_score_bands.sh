#!/usr/bin/env bash
# What the default detector reports between score 0.3 and 0.9, the evidence
# for its score threshold (detector.min_score, README "Models"): the default
# configuration served at min_score 0.3, then
#  - detect/: each detection matched to a hand-drawn face (IoU 0.4) or not;
#  - the group photos of bench/ and the photos of verify/ (no boxes): every
#    detection below 0.9 listed with its image, for a look by eye;
#  - the face-size sweep (facectl eval-face-sizes, 690 images of three
#    portraits): the faces other than the portrait's own.
# Each is counted in score bands. Writes bench/results/detector-score-bands-<date>.md.
#
#   bench/detector_score_bands.sh      (after scripts/bootstrap.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PORT=${BENCH_PORT:-50094}
SHARED=../shared/data/faces
OUT=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$OUT"' EXIT
FACECTL=("$BUILD/bin/facectl" --server "127.0.0.1:$PORT" --timeout-ms 120000)

"$BUILD/bin/faceserve" --config config/default.yaml --set detector.min_score=0.3 \
  --set server.listen="127.0.0.1:$PORT" --set metrics.listen= --set http.listen= >"$OUT/server.log" 2>&1 &
"${FACECTL[@]}" health --wait 120 >/dev/null
"${FACECTL[@]}" analyze --detect-only "$SHARED"/detect/images/*.jpg >"$OUT/detect.jsonl"
"${FACECTL[@]}" analyze --detect-only "$SHARED"/bench/group_*.jpg "$SHARED"/verify/*/*.jpg \
  "$SHARED"/verify/*/*.png >"$OUT/photos.jsonl"
"${FACECTL[@]}" eval-face-sizes "$SHARED"/verify/{shea_whigham,angelina_jolie,paul_rudd}/facenet_1.jpg \
  --backgrounds "$SHARED/bench/noface_human_background.jpg,$SHARED/bench/noface_dlib_horses.jpg,$SHARED/bench/noface_dlib_giraffe.jpg" \
  --json >"$OUT/sweep.json"

mkdir -p bench/results
/usr/bin/python3 - "$OUT" "$SHARED/detect/boxes.csv" "bench/results/detector-score-bands-$(date -u +%F).md" \
  "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" <<'EOF'
import collections, csv, json, sys
out, boxes_csv, result, commit = sys.argv[1:5]
BANDS = [0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01]
def band(s):
    for lo, hi in zip(BANDS, BANDS[1:]):
        if lo <= s < hi:
            return "%.1f-%.1f" % (lo, min(hi, 1.0))
def iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0])); iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / u if u > 0 else 0
boxes = collections.defaultdict(list)
for r in csv.DictReader(open(boxes_csv)):
    boxes[r["image"]].append([float(r[k]) for k in ("x1", "y1", "x2", "y2")])
counts = collections.defaultdict(collections.Counter)
lowest_matched = 1.0
for line in open(out + "/detect.jsonl"):
    d = json.loads(line)
    name = d["image"].split("/")[-1]
    for f in d["faces"]:
        hit = any(iou(f["box"], b) >= 0.4 for b in boxes.get(name, []))
        counts["detect/: matched a hand-drawn face" if hit else "detect/: matched none"][band(f["score"])] += 1
        if hit:
            lowest_matched = min(lowest_matched, f["score"])
listed = []
for line in open(out + "/photos.jsonl"):
    d = json.loads(line)
    for f in d["faces"]:
        counts["group and verify photos (no boxes)"][band(f["score"])] += 1
        if 0.5 <= f["score"] < 0.9:
            listed.append((f["score"], d["image"].replace("../shared/data/faces/", ""),
                           [round(v) for v in f["box"]], f["truncated"]))
for row in json.load(open(out + "/sweep.json")):
    for o in row["others"]:
        counts["sweep: faces beside the portrait's own"][band(o["score"])] += 1
names = [band(b + 1e-6) for b in BANDS[:-1]]
lines = ["# Detector scores between 0.3 and 0.9, %s" % result.split("-bands-")[1][:10], "",
         "Commit %s. Reproduce: `bench/detector_score_bands.sh` (config/default.yaml served at "
         "min_score 0.3). Lowest score of a detection matching a hand-drawn face on detect/: %.3f." % (
             commit, lowest_matched), "",
         "| set | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
for key, c in counts.items():
    lines.append("| %s | %s |" % (key, " | ".join(str(c[n]) for n in names)))
lines += ["", "Detections between 0.5 and 0.9 on the group and verify photos (look at each):", "",
          "| score | image | box | truncated |", "|---|---|---|---|"]
for s, image, box, t in sorted(listed):
    lines.append("| %.3f | %s | %s | %s |" % (s, image, box, t))
open(result, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
