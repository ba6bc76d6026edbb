#!/usr/bin/env bash
# Video stream throughput (issue 32): bench/stream_throughput.py. Writes
# bench/results/stream-throughput-<date>.{json,md}.
#
#   bench/stream_throughput.sh             (after scripts/bootstrap.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/stream_throughput.py --build "${BUILD:-build}" \
  --out "bench/results/stream-throughput-$(date -u +%F)" "$@"
