#!/usr/bin/env bash
# Sets up faceserve on a fresh Debian 12 machine: Debian packages, the npm
# packages (face-api's weights and reference implementation, human-models),
# every model exported to TorchScript (the vendored models/weights included),
# and the build. Needs nothing beside the clone. Idempotent: safe to rerun.
#
#   scripts/bootstrap.sh            everything
#   SKIP_APT=1 scripts/bootstrap.sh skip the package step (no root)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> [%s] %s\n' "$(date -u +%T)" "$*" >&2; }

PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  # C++ dependencies
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libopencv-dev libjpeg62-turbo-dev prometheus-cpp-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev nlohmann-json3-dev
  # galleries: the embedded store (core/gallery)
  libsqlite3-dev libsqlitecpp-dev
  # galleries shared by replicas (issue 33): libpq, and the server the tests
  # start a throwaway cluster of (scripts/throwaway_postgres.sh)
  libpq-dev postgresql-15
  # the replicas' load balancer (deploy/haproxy; scripts/check_replicas.sh),
  # and docker-compose.yml's validation (scripts/check_compose.sh; no engine)
  haproxy docker-compose
  # galleries: the approximate index (header-only hnswlib)
  libhnswlib-dev
  # API keys' SHA-256 (core/auth; gRPC's own OpenSSL) and the HTTP/JSON API
  # (server/http_api.h)
  libssl-dev libcpp-httplib-dev
  # image codecs of core/reader and core/utilizer (the server links no
  # opencv_imgcodecs; the tests still use it as the reference)
  libpng-dev libwebp-dev
  # LibTorch and its Python side (the exporter); OpenBLAS: without it Debian's
  # torch falls back to the reference BLAS, 25x slower on matrix products.
  libtorch-dev python3-torch libopenblas0 python3-numpy python3-yaml python3-pil
  # tcmalloc: LibTorch's activation buffers without a page fault per forward
  # pass (cmake/tcmalloc.cmake)
  libtcmalloc-minimal4
  # monitoring tests (promtool, a real Prometheus)
  prometheus
  # the Python client (client/python: a venv over Debian's grpcio and protobuf,
  # the versions it is tested with) and its tests
  python3-grpcio python3-protobuf python3-venv python3-pip python3-setuptools python3-wheel
  python3-pytest
  # the browser page's test: headless Chromium driven by Selenium
  chromium chromium-driver python3-selenium
  # fuzzing (scripts/fuzz.sh: clang with libFuzzer and the sanitizers) and the
  # TLS tests (certificates made at test time)
  clang libclang-rt-14-dev openssl
  # the linker of every build when present (CMakeLists.txt: a quarter of GNU
  # ld's time)
  lld
)

if [[ "${SKIP_APT:-0}" != 1 ]]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # Node (the face-api reference runner): Debian's, unless one is already there.
  command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    SUDO=""; [[ $(id -u) == 0 ]] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

log "npm packages (face-api ${FACEAPI_VERSION:-1.7.15}, tfjs) from the committed lock"
if [[ ! -d models/reference/node_modules/@vladmandic/face-api ]] ||
   [[ models/reference/package-lock.json -nt models/reference/node_modules/.package-lock.json ]]; then
  (cd models/reference && npm ci --no-audit --no-fund --ignore-scripts)
fi

log "human-models graph models (models/reference/fetch_human_models.sh)"
models/reference/fetch_human_models.sh

log "exporting every model to models/exported (face-api, human-models, models/weights)"
/usr/bin/python3 models/export.py --out models/exported

log "building (build/)"
# -g1: line tables (stack traces name file and line) without the full debug
# information, which made every file compile 20 % slower on 2 cores.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null
cmake --build build -j"$(nproc)"

log "a demo clip for the README's video tour (build/demo/faces.mp4, from face-api's demo photos)"
mkdir -p build/demo
D=models/reference/node_modules/@vladmandic/face-api/demo
build/bin/facectl make-clip "$D/sample1.jpg" "$D/sample3.jpg" "$D/sample6.jpg" \
  --out build/demo/faces.mp4 >/dev/null
log "done: build/bin/faceserve, build/bin/facectl"
