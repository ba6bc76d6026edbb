#!/usr/bin/env bash
# Runs the whole test suite: sets up what is missing (scripts/bootstrap.sh,
# idempotent), then every test registered with ctest: unit tests per layer,
# model parity tests against face-api, and integration tests over real gRPC
# with the real models on real photos.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
cd build
ctest --output-on-failure -j"${CTEST_JOBS:-2}" "$@"
