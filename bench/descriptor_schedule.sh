#!/usr/bin/env bash
# Descriptor scheduling in streams (issue 32): bench/descriptor_schedule.py.
# Writes bench/results/descriptor-schedule-<date>.{jsonl,md}.
#
#   bench/descriptor_schedule.sh             (after scripts/bootstrap.sh; needs ../shared)
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/descriptor_schedule.py --build "${BUILD:-build}" \
  --out "bench/results/descriptor-schedule-$(date -u +%F)" "$@"
