#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan, every
# library instrumented) in build-fuzz/, makes the seed corpus
# (tests/fuzz/make_corpus.py: real photos re-encoded small in every accepted
# format, malformed variants, and requests carrying them), and runs each
# fuzzer for a bounded time.
#
#   scripts/fuzz.sh                       every fuzzer, FUZZ_SECONDS each
#   FUZZ_SECONDS=600 scripts/fuzz.sh      a longer run
#   scripts/fuzz.sh request               one fuzzer (image_reader | request | http_request)
#
# Environment: FUZZ_SECONDS (default 60), FUZZ_JOBS (build jobs, default
# nproc), FUZZ_BUILD_DIR (default build-fuzz), FUZZ_ARGS (more libFuzzer
# flags). The corpus each run grows is kept in $FUZZ_BUILD_DIR/corpus/<name>/
# and reused by the next run. Exits non-zero when a fuzzer finds a crash; the
# input is in $FUZZ_BUILD_DIR/artifacts/<name>/: add it to
# tests/fuzz/regressions/<name>/ (replayed by fuzz_regression_test) with the
# fix.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-$(nproc)}
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(image_reader request http_request)

log() { printf '\n==> [%s] %s\n' "$(date -u +%T)" "$*" >&2; }

command -v clang++ >/dev/null || { echo "clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }

log "building ${TARGETS[*]/%/_fuzzer} with clang in $BUILD/"
CC=clang CXX=clang++ cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFACESERVE_WITH_TORCH=OFF -DFACESERVE_BUILD_TESTS=OFF -DFACESERVE_BUILD_FUZZERS=ON >/dev/null
cmake --build "$BUILD" -j"$FUZZ_JOBS" --target "${TARGETS[@]/%/_fuzzer}"

log "seed corpus in $BUILD/seeds/"
/usr/bin/python3 tests/fuzz/make_corpus.py "$BUILD/seeds"

status=0
for t in "${TARGETS[@]}"; do
  mkdir -p "$BUILD/corpus/$t" "$BUILD/artifacts/$t"
  log "fuzzing $t for ${FUZZ_SECONDS}s (corpus $BUILD/corpus/$t)"
  # -max_len: the seeds are small (images <= 160 px); -timeout: a decode that
  # takes 10 s is a finding too. ASAN_OPTIONS: OpenCV's decoders keep static
  # buffers that LeakSanitizer would report at exit.
  rc=0
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} \
  "$BUILD/bin/${t}_fuzzer" "$BUILD/corpus/$t" "$BUILD/seeds/$t" \
    -max_total_time="$FUZZ_SECONDS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t/" ${FUZZ_ARGS:-} \
    >"$BUILD/$t.log" 2>&1 || rc=$?
  grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|==[0-9]+==ERROR|stat::|SUMMARY|Test unit written|fuzz check failed)' \
    "$BUILD/$t.log" || true
  if ((rc != 0)); then
    status=1
    echo "!! $t: libFuzzer exited $rc (a crash?); see $BUILD/$t.log and $BUILD/artifacts/$t/" >&2
  fi
done
exit $status
