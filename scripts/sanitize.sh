#!/usr/bin/env bash
# The hardening build: every C++ test with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer, and clang's thread-safety analysis as an error
# (faceserve::warnings: a member read without the lock its ABSL_GUARDED_BY
# names does not compile). One build, both checks, in build-sanitize/.
#
# The tests are chosen by ctest label, not by a list here: every C++ test
# carries "cpp" (tests/CMakeLists.txt, faceserve_gtest); those that must not
# run under the sanitizers also carry "no_sanitize" with the reason beside
# them (the overload test measures the allocator; the face-size sweeps and
# face-api's configuration repeat real_models' paths at minutes each). Each
# gtest binary is one ctest test here (FACESERVE_SANITIZER_RUN), so that
# the LibTorch-linked binaries start once, not once per case, and the
# real-model tests leave out their long repeats (the 1394-pair accuracy run,
# the annotated-photo detection runs: each minutes under ASan, through paths
# their other cases cover). Our code is
# instrumented; LibTorch, OpenCV and gRPC are the system's (not
# instrumented). Needs what scripts/bootstrap.sh sets up (the exported
# models).
#
#   scripts/sanitize.sh                  every test labelled cpp, not no_sanitize
#   scripts/sanitize.sh -R server_test   more ctest arguments
#
# Environment: SANITIZE_JOBS (build and test jobs, default nproc),
# SANITIZE_BUILD_DIR (default build-sanitize). Any sanitizer report fails the
# run (halt_on_error, no recovery from UBSan).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${SANITIZE_BUILD_DIR:-build-sanitize}
JOBS=${SANITIZE_JOBS:-$(nproc)}

log() { printf '\n==> [%s] %s\n' "$(date -u +%T)" "$*" >&2; }
command -v clang++ >/dev/null || { echo "clang++ not found (scripts/bootstrap.sh installs clang)" >&2; exit 1; }

FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# -O0 -g1 (-g1 keeps the line tables reports need) instead of RelWithDebInfo's
# -O2 -g: the build is most of this script's time, and -O0 compiles a file in
# a third less time than -O1 (8 min for the tree, against 12), while the
# tests, whose time goes to LibTorch (not instrumented), ran 1.3 min longer;
# hnswlib's file stays at -O1 (core/gallery/CMakeLists.txt).
OPT="-O0 -g1 -DNDEBUG"
log "building the tests with clang, ASan + UBSan and -Werror=thread-safety ($OPT) in $BUILD/"
CC=clang CXX=clang++ cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFACESERVE_WITH_TORCH=ON -DFACESERVE_SANITIZER_RUN=ON \
  -DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$OPT" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build "$BUILD" -j"$JOBS"

export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan.supp:print_suppressions=0}

log "ctest -L cpp -LE no_sanitize in $BUILD/"
ctest --test-dir "$BUILD" -L cpp -LE no_sanitize -j"$JOBS" --output-on-failure "$@"
echo "sanitizer run passed"
