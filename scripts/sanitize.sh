#!/usr/bin/env bash
# Builds the unit tests with AddressSanitizer and UndefinedBehaviorSanitizer
# in build-asan/ and runs them. No LibTorch (FACESERVE_WITH_TORCH=OFF): the
# layers are tested with fake models, so the model parity and integration
# tests (label "models") are not part of this run.
#
#   scripts/sanitize.sh                 every unit test binary
#   scripts/sanitize.sh server_test     some of them
#
# Environment: SANITIZE_JOBS (build jobs, default nproc), SANITIZE_BUILD_DIR
# (default build-asan), CXX (default: the system's c++). Any sanitizer report
# fails the run (halt_on_error, no recovery from UBSan).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${SANITIZE_BUILD_DIR:-build-asan}
JOBS=${SANITIZE_JOBS:-$(nproc)}
TESTS=("$@")
((${#TESTS[@]})) || TESTS=(batching_test config_test reader_test unifier_test utilizer_test
                           detector_test predictor_test pipeline_test server_test
                           request_validation_test tls_test client_test fuzz_regression_test)

log() { printf '\n==> %s\n' "$*" >&2; }

FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
log "building ${TESTS[*]} with ASan + UBSan in $BUILD/"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFACESERVE_WITH_TORCH=OFF \
  -DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target "${TESTS[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp:print_suppressions=0}

failed=()
for t in "${TESTS[@]}"; do
  log "$t"
  start=$(date +%s)
  if "$BUILD/bin/$t" --gtest_brief=1 >"$BUILD/$t.log" 2>&1; then
    echo "ok $t ($(($(date +%s) - start)) s)"
  else
    failed+=("$t")
    tail -60 "$BUILD/$t.log"
    echo "FAILED $t ($(($(date +%s) - start)) s); full log: $BUILD/$t.log"
  fi
done
if ((${#failed[@]})); then
  echo "sanitizer run failed: ${failed[*]}" >&2
  exit 1
fi
echo "sanitizer run passed: ${#TESTS[@]} test binaries"
