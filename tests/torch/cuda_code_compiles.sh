#!/usr/bin/env bash
# The CUDA-only code of core/torch (FACESERVE_TORCH_CUDA: one CUDA stream per
# batch worker) is compiled by a CUDA LibTorch alone, which no test machine
# here has. This compiles it for syntax and types against the c10/cuda headers
# Debian's LibTorch ships and the CUDA toolkit's headers, where both exist
# (exit 77 = skipped otherwise). It cannot link or run it.
#
#   tests/torch/cuda_code_compiles.sh [CXX]
set -euo pipefail
cd "$(dirname "$0")/../.."
CXX=${1:-c++}
CUDA_INCLUDE=${CUDA_INCLUDE:-/usr/local/cuda/include}
TORCH_INCLUDE=${TORCH_INCLUDE:-/usr/include}
if [[ ! -f $CUDA_INCLUDE/cuda_runtime_api.h ]]; then
  echo "skipped: no CUDA headers at $CUDA_INCLUDE"; exit 77
fi
if [[ ! -f $TORCH_INCLUDE/c10/cuda/CUDAStream.h ]]; then
  echo "skipped: LibTorch's c10/cuda headers missing under $TORCH_INCLUDE"; exit 77
fi
STUB=$(mktemp -d)
trap 'rm -rf "$STUB"' EXIT
# Generated when LibTorch is built with CUDA; absent from a CPU-only install.
mkdir -p "$STUB/c10/cuda/impl"
[[ -f $TORCH_INCLUDE/c10/cuda/impl/cuda_cmake_macros.h ]] ||
  printf '#pragma once\n#define C10_CUDA_BUILD_SHARED_LIBS\n' >"$STUB/c10/cuda/impl/cuda_cmake_macros.h"
for source in core/torch/torch_compat.cc core/torch/torch_model_runner.cc; do
  "$CXX" -std=gnu++17 -fsyntax-only -Wall -Werror -Wno-unused-parameter -DFACESERVE_TORCH_CUDA=1 \
    -I. -isystem "$STUB" -isystem "$TORCH_INCLUDE/torch/csrc/api/include" -isystem "$CUDA_INCLUDE" \
    "$source"
  echo "compiles with FACESERVE_TORCH_CUDA=1: $source"
done
