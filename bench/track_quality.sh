#!/usr/bin/env bash
# Tracking quality on the whole synthetic set and the real clips (issue 32):
# bench/track_quality.py. Writes bench/results/track-quality-<date>.{jsonl,md}.
#
#   bench/track_quality.sh                 (after scripts/bootstrap.sh; needs ../shared)
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/track_quality.py --build "${BUILD:-build}" \
  --out "bench/results/track-quality-$(date -u +%F)" "$@"
