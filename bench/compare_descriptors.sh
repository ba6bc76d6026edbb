#!/usr/bin/env bash
# The face descriptors faceserve can serve, side by side on this machine:
# verification on ../shared/data/faces/verify/pairs.csv (1394 pairs) through
# the real server (RetinaFace, the default detector, then each network behind
# each crop of bench/configs/descriptors.yaml), with `facectl eval-verify`:
# best accuracy, 10-fold accuracy (threshold chosen on the other nine folds),
# ROC AUC, TAR at FAR 1e-2 and 1e-3; and each network's own time per face
# (bench/model_limit, one model per stream as the server runs it). face-api's
# whole pipeline (config/faceapi.yaml: SSD, its recognition net) is measured
# beside them as the reference. The 54 dlib face chips (verify/*/dlib_*.jpg,
# 150x150, already aligned) are embedded whole (--crops): RetinaFace finds a
# spurious part-face in such tight crops, where SSD finds none.
# Writes bench/results/descriptors-<date>.{json,md}; the raw outputs stay in
# build/compare_descriptors/ (SUMMARIZE_ONLY=1 redoes just the tables).
#
#   bench/compare_descriptors.sh          (after scripts/bootstrap.sh; ~15 min)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CONFIG=bench/configs/descriptors.yaml
PORT=${BENCH_PORT:-50094}
MODELS=${MODELS_DIR:-models/exported}
VERIFY=../shared/data/faces/verify
CROPS='*/dlib_*'    # the dlib chips of verify/: face crops, embedded whole
OUT=$BUILD/compare_descriptors
mkdir -p "$OUT"
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
for bin in faceserve facectl model_limit; do
  [[ -x $BUILD/bin/$bin ]] || { echo "missing $BUILD/bin/$bin: run scripts/bootstrap.sh" >&2; exit 1; }
done
FACECTL=("$BUILD/bin/facectl" --server "127.0.0.1:$PORT" --timeout-ms 120000)
predictors=$(/usr/bin/python3 -c 'import sys, yaml
print(" ".join(p["name"] for p in yaml.safe_load(open(sys.argv[1]))["predictors"]))' "$CONFIG")

serve() {  # config, overrides...
  local config=$1
  shift
  "$BUILD/bin/faceserve" --config "$config" "$@" --set models_dir="$MODELS" \
    --set server.listen="127.0.0.1:$PORT" --set metrics.listen= --set http.listen= >>"$OUT/server.log" 2>&1 &
  pid=$!
  "${FACECTL[@]}" health --wait 300 >/dev/null
}

if [[ ${SUMMARIZE_ONLY:-0} != 1 ]]; then
echo "reference: config/faceapi.yaml (SSD + face_recognition)" >&2
serve config/faceapi.yaml --set device.device=cpu
"${FACECTL[@]}" eval-verify "$VERIFY/pairs.csv" --root "$VERIFY" --crops "$CROPS" --concurrency 8 \
  --json >"$OUT/faceapi_pipeline.json"
kill -TERM "$pid"; wait "$pid" || true

serve "$CONFIG"
for p in $predictors; do
  echo "$p: eval-verify" >&2
  "${FACECTL[@]}" eval-verify "$VERIFY/pairs.csv" --root "$VERIFY" --crops "$CROPS" --concurrency 8 \
    --predictor "$p" --json >"$OUT/$p.json"
done
kill -TERM "$pid"; wait "$pid" || true

# Time per face: each network once (its first predictor), batch 1 to 8.
/usr/bin/python3 - "$CONFIG" "$OUT/limit.yaml" <<'EOF'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
seen, keep = set(), []
for p in c["predictors"]:
    if p["model"] not in seen:
        seen.add(p["model"])
        keep.append(p)
c["predictors"] = keep
c["default_embedding_predictor"] = keep[0]["name"]
yaml.safe_dump(c, open(sys.argv[2], "w"), sort_keys=False)
EOF
echo "model_limit: time per face" >&2
"$BUILD/bin/model_limit" --config "$OUT/limit.yaml" --set models_dir="$MODELS" \
  --seconds-per-point 2 --json >"$OUT/limit.json"
fi

mkdir -p bench/results
/usr/bin/python3 - "$OUT" "$CONFIG" "bench/results/descriptors-$(date -u +%F)" \
  "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo -dirty)" \
  $predictors <<'EOF'
import datetime, json, os, platform, subprocess, sys
import yaml
raw, config, out, commit, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
def load(path):
    with open(path) as f:
        return json.loads(f.read().strip().splitlines()[-1])
preds = {p["name"]: p for p in yaml.safe_load(open(config))["predictors"]}
limit = load(os.path.join(raw, "limit.json"))
ms = {}  # model file stem -> (ms per face at batch 1 one stream, best ms per face all streams, best batch)
for m in limit["models"]:
    if m["role"] == "detector":
        continue
    one = next(p for p in m["points"] if p["batch"] == 1)
    best = min(m["points"], key=lambda p: p["ms_per_item_all_streams"])
    ms[m["model"]] = (one["ms_per_batch"], best["ms_per_item_all_streams"], best["batch"])
rows = {"faceapi_pipeline (config/faceapi.yaml: SSD, dlib chip)": dict(load(os.path.join(raw, "faceapi_pipeline.json")),
                                                                        model="face_recognition")}
for n in names:
    rows[n] = load(os.path.join(raw, n + ".json"))
    crop = preds[n]["crop"]
    rows[n]["crop"] = "%s %s" % (crop["method"], ", ".join("%s %s" % (k, v) for k, v in crop.items() if k != "method"))
date = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
cpu = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True,
                     text=True).stdout.strip() or platform.processor()
with open(out + ".json", "w") as f:
    json.dump({"date": date, "commit": commit, "cpu": cpu, "cores": os.cpu_count(), "rows": rows,
               "model_limit": limit}, f, indent=1)
lines = [
    "# Face descriptors compared, %s" % date[:10], "",
    "Machine: %s, %d cores, %s. Commit %s. Reproduce: `bench/compare_descriptors.sh`. Every row but the first: "
    "RetinaFace (the default detector) then the network behind the crop named (`%s`); the first row is "
    "face-api's own pipeline. `facectl eval-verify` on `../shared/data/faces/verify/pairs.csv`: %d pairs, "
    "%d images (the 54 dlib chips, and any image in which no face is found, embedded whole as face crops: "
    "column 'crops'). "
    "cv10 = 10-fold accuracy with the threshold chosen on the other nine folds (the honest figure); best = "
    "accuracy at the best single threshold over all pairs. ms/face: `bench/model_limit`, the network "
    "alone, at batch 1 on one stream / at its best batch with every core busy."
    % (cpu, os.cpu_count(), platform.platform(), commit, config, rows[names[0]]["pairs"], rows[names[0]]["images"]), "",
    "| predictor | model | crop | cv10 accuracy | best accuracy (threshold) | ROC AUC | TAR @ FAR 1e-2 | "
    "TAR @ FAR 1e-3 | crops | ms/face (batch 1 / best, batch) |",
    "|---|---|---|---|---|---|---|---|---|---|",
]
for n, r in rows.items():
    t = ms.get(r["model"])
    lines.append("| %s | %s | %s | %.4f ± %.4f | %.4f (%.4f) | %.4f | %.4f | %.4f | %d | %s |" % (
        n, r["model"], r.get("crop", "-"), r["cv10_accuracy"], r["cv10_accuracy_stddev"],
        r["best_accuracy"], r["best_threshold"], r["roc_auc"], r["tar_at_far"]["1e-2"]["tar"],
        r["tar_at_far"]["1e-3"]["tar"], r["images_as_crops"],
        "%.1f / %.1f (%d)" % t if t else "-"))
lines.append("")
with open(out + ".md", "w") as f:
    f.write("\n".join(lines))
print("\n".join(lines))
EOF
