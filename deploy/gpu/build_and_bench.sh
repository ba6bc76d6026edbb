#!/usr/bin/env bash
# Builds faceserve on a machine with an NVIDIA GPU and a PyTorch 2.x install
# (its LibTorch, CMake, ninja, g++, nvcc) but nothing else installable, runs
# the server on config/gpu.yaml and benchmarks it. Everything else comes from
# the kit that deploy/gpu/pack_kit.sh made on Debian (.gpu-kit/kit.tar.xz).
#
#   deploy/gpu/build_and_bench.sh              (from the repository root)
#
# Environment:
#   OUT                folder for the results (default: /tmp/faceserve-gpu/out)
#   PYTHON             the python with torch (default: python3)
#   BENCH_SECONDS      seconds per benchmark point (default: 30)
#   CONCURRENCY        client concurrencies to measure (default: "64 256")
#   CHANNELS           gRPC connections the client spreads its calls over (default: 8)
#   CPU_CHECK=1        dry run on a machine without a GPU (what CI-less checks
#                      here can do): device cpu, config/default.yaml, short
#                      points; proves the kit builds, links and serves.
# Writes to $OUT: summary.md (the table for bench/results/), *.json (facectl
# bench summaries, model_limit), gpu.csv (nvidia-smi samples), server.log,
# build.log, environment.txt. Exit status non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
WORK=${WORK:-/tmp/faceserve-gpu}
OUT=${OUT:-$WORK/out}
PYTHON=${PYTHON:-python3}
SECONDS_PER_POINT=${BENCH_SECONDS:-30}
CONCURRENCY=${CONCURRENCY:-64 256}
CHANNELS=${CHANNELS:-8}
CPU_CHECK=${CPU_CHECK:-0}
KIT_TAR=${KIT_TAR:-.gpu-kit/kit.tar.xz}
PORT=${PORT:-50071}
METRICS_PORT=${METRICS_PORT:-9471}
log() { echo "build_and_bench: $*" >&2; }

mkdir -p "$WORK" "$OUT"
[[ -f $KIT_TAR ]] || { log "no $KIT_TAR: run deploy/gpu/pack_kit.sh on Debian first"; exit 1; }
rm -rf "$WORK/kit"
tar -C "$WORK" -xJf "$KIT_TAR"
KIT=$WORK/kit

# ---------------------------------------------------------------- environment
{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "host: $(uname -srm), $(nproc) cores"
  [[ -r /etc/os-release ]] && (. /etc/os-release; echo "os: $PRETTY_NAME")
  echo "g++: $(g++ -dumpfullversion 2>/dev/null || echo none)"
  echo "cmake: $(cmake --version | head -1)"
  command -v nvcc >/dev/null && echo "nvcc: $(nvcc --version | tail -1)"
  command -v nvidia-smi >/dev/null &&
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | sed 's/^/gpu: /'
  head -2 "$KIT/MANIFEST" | sed 's/^/kit: /'
} | tee "$OUT/environment.txt" >&2

read -r TORCH_VERSION TORCH_CUDA TORCH_ABI TORCH_PREFIX < <("$PYTHON" - <<'EOF'
import torch
print(torch.__version__, torch.version.cuda or "none", int(torch._C._GLIBCXX_USE_CXX11_ABI),
      torch.utils.cmake_prefix_path)
EOF
)
echo "torch: $TORCH_VERSION, CUDA $TORCH_CUDA, cxx11 ABI $TORCH_ABI, cmake $TORCH_PREFIX" |
  tee -a "$OUT/environment.txt" >&2
# The kit's libraries are Debian's, built with the C++11 ABI of std::string;
# a LibTorch built with the old ABI (pip wheels before PyTorch 2.7) cannot be
# mixed with them in one binary.
if [[ $TORCH_ABI != 1 ]]; then
  log "this PyTorch uses the pre-C++11 ABI (_GLIBCXX_USE_CXX11_ABI=0); the kit needs a build with ABI 1 (PyTorch >= 2.7 wheels, or the cxx11-abi LibTorch zip)"
  exit 3
fi
if [[ $CPU_CHECK != 1 ]]; then
  "$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' ||
    { log "PyTorch sees no GPU (CPU_CHECK=1 for a dry run)"; exit 1; }
fi
# Debian's own torch (the CPU check here) installs its CMake files with the
# system's; a pip wheel keeps them inside the package.
CMAKE_PREFIX=${TORCH_CMAKE_PREFIX:-$TORCH_PREFIX}

# ---------------------------------------------------------------- models
# Exported here, by this PyTorch, from face-api's weight files in the kit.
log "exporting the models with torch $TORCH_VERSION"
"$PYTHON" models/export.py --faceapi-dir "$KIT/models/face-api" --out "$WORK/models" \
  >"$OUT/export.log" 2>&1 || { tail -30 "$OUT/export.log" >&2; exit 1; }

# ---------------------------------------------------------------- build
log "building (log: $OUT/build.log)"
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
cmake -S . -B "$WORK/build" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DFACESERVE_DEPS_KIT="$KIT" -DFACESERVE_BUILD_TESTS=OFF \
  -DCMAKE_PREFIX_PATH="$CMAKE_PREFIX" >"$OUT/build.log" 2>&1 ||
  { tail -40 "$OUT/build.log" >&2; exit 1; }
cmake --build "$WORK/build" -j"$(nproc)" --target faceserve facectl model_limit \
  >>"$OUT/build.log" 2>&1 || { grep -E "error|Error" -A3 "$OUT/build.log" | head -60 >&2; exit 1; }
BIN=$WORK/build/bin

# The binaries must find every library, and each one the kit carries in the
# kit (not a same-named one of the machine's).
unresolved=$(ldd "$BIN/faceserve" "$BIN/facectl" | grep "not found" || true)
[[ -z $unresolved ]] || { log "unresolved libraries: $unresolved"; exit 1; }
ldd "$BIN/faceserve" >"$OUT/ldd-faceserve.txt"
elsewhere=$(awk -v kit="$KIT/lib/" 'NF >= 3 && $2 == "=>" {print $1, $3}' "$OUT/ldd-faceserve.txt" |
  while read -r soname path; do
    [[ -e $KIT/lib/$soname && $path != "$KIT/lib/$soname" ]] && echo "$soname -> $path"
  done || true)
[[ -z $elsewhere ]] || { log "libraries the kit carries were loaded from elsewhere: $elsewhere"; exit 1; }

# ---------------------------------------------------------------- photos
# The demo photos (1920 px wide, ~4 faces each), and the same photos cut to
# 4:3 and scaled to 640x480.
PHOTOS=("$KIT"/photos/sample{1,2,3,4,5,6}.jpg)
mkdir -p "$WORK/photos640"
"$PYTHON" - "$WORK/photos640" "${PHOTOS[@]}" <<'EOF'
import os, sys
out = sys.argv[1]
try:
    import cv2
    def convert(src, dst):
        img = cv2.imread(src)
        h, w = img.shape[:2]
        cw = min(w, h * 4 // 3); ch = cw * 3 // 4
        x, y = (w - cw) // 2, (h - ch) // 2
        cv2.imwrite(dst, cv2.resize(img[y:y + ch, x:x + cw], (640, 480), interpolation=cv2.INTER_AREA),
                    [cv2.IMWRITE_JPEG_QUALITY, 90])
except ImportError:
    from PIL import Image
    def convert(src, dst):
        img = Image.open(src).convert("RGB")
        w, h = img.size
        cw = min(w, h * 4 // 3); ch = cw * 3 // 4
        x, y = (w - cw) // 2, (h - ch) // 2
        img.crop((x, y, x + cw, y + ch)).resize((640, 480), Image.BILINEAR).save(dst, quality=90)
for src in sys.argv[2:]:
    convert(src, os.path.join(out, os.path.basename(src)))
EOF
PHOTOS640=("$WORK"/photos640/sample{1,2,3,4,5,6}.jpg)

# ---------------------------------------------------------------- serve
CONFIG=config/gpu.yaml
SET=(--set models_dir="$WORK/models" --set server.listen="127.0.0.1:$PORT"
     --set metrics.listen="127.0.0.1:$METRICS_PORT" --set http.listen=)
if [[ $CPU_CHECK == 1 ]]; then
  CONFIG=config/default.yaml
  SET+=(--set device.device=cpu --set server.max_concurrent_calls=256)
  SECONDS_PER_POINT=${BENCH_SECONDS:-5}
  CONCURRENCY=${CONCURRENCY_CPU:-4}
fi
FACECTL=("$BIN/facectl" --server "127.0.0.1:$PORT")
"$BIN/faceserve" --config "$CONFIG" "${SET[@]}" >"$OUT/server.log" 2>&1 &
SERVER=$!
SAMPLER=
cleanup() {
  [[ -n $SAMPLER ]] && kill "$SAMPLER" 2>/dev/null || true
  kill -TERM "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
}
trap cleanup EXIT
log "waiting for the server to preheat and report SERVING"
for _ in $(seq 600); do
  "${FACECTL[@]}" health >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { tail -30 "$OUT/server.log" >&2; exit 1; }
  sleep 1
done
"${FACECTL[@]}" health >/dev/null || { log "not SERVING after 600 s"; tail -30 "$OUT/server.log" >&2; exit 1; }
grep -i "preheat" "$OUT/server.log" | tail -3 >&2 || true

# One image, checked: faces found on a demo photo (same models as on CPU).
"${FACECTL[@]}" analyze "${PHOTOS[0]}" >"$OUT/analyze-sample1.json"

if command -v nvidia-smi >/dev/null && [[ $CPU_CHECK != 1 ]]; then
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits \
    -lms 500 >"$OUT/gpu.csv" &
  SAMPLER=$!
fi
mark() { date +%s.%N >>"$OUT/marks.txt"; echo "$1" >>"$OUT/marks.txt"; }
: >"$OUT/marks.txt"
"${FACECTL[@]}" bench --concurrency 16 --duration 5 "${PHOTOS[@]}" >/dev/null  # warm-up
for set in demo 640; do
  if [[ $set == demo ]]; then images=("${PHOTOS[@]}"); else images=("${PHOTOS640[@]}"); fi
  for c in $CONCURRENCY; do
    log "$set photos, concurrency $c, ${SECONDS_PER_POINT} s"
    mark "start $set c$c"
    "${FACECTL[@]}" --timeout-ms 120000 bench --concurrency "$c" --channels "$CHANNELS" \
      --duration "$SECONDS_PER_POINT" \
      --json "${images[@]}" >"$OUT/bench-$set-c$c.json" || true
    mark "end $set c$c"
  done
done
curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" >"$OUT/metrics.txt" 2>/dev/null || true
cleanup
trap - EXIT

log "raw model limit (models alone, no server)"
"$BIN/model_limit" --config "$CONFIG" "${SET[@]}" --json >"$OUT/model_limit.json" ||
  log "model_limit failed (see above); the table leaves it out"

"$PYTHON" bench/summarize_gpu.py "$OUT" >"$OUT/summary.md"
cat "$OUT/summary.md"
