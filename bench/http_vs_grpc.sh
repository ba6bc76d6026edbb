#!/usr/bin/env bash
# gRPC against HTTP/JSON and HTTP raw body (bench/http_vs_grpc.py) in the
# Python client's venv (it uses the client's generated stubs). Writes
# bench/results/http-vs-grpc-<date>.{json,md}.
#
#   bench/http_vs_grpc.sh                     (after scripts/bootstrap.sh)
#   BENCH_SECONDS=30 BUILD=build bench/http_vs_grpc.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=$(cd "${BUILD:-build}" && pwd)
VENV=$BUILD/python-venv
[[ -x $VENV/bin/python ]] || /usr/bin/python3 -m venv --system-site-packages "$VENV"
"$VENV/bin/pip" install --quiet --no-build-isolation --no-index --disable-pip-version-check client/python
exec "$VENV/bin/python" bench/http_vs_grpc.py --faceserve "$BUILD/bin/faceserve" \
  --seconds "${BENCH_SECONDS:-20}" --out "bench/results/http-vs-grpc-$(date -u +%F)" "$@"
