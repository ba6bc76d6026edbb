#!/usr/bin/env bash
# Packs what a GPU machine with PyTorch 2.x but no package registry needs to
# build and benchmark faceserve, into ONE file that travels with the working
# tree (the device tool's `carry`, at most 64 MiB together with the tree):
#
#   .gpu-kit/kit.tar.xz
#     include/   headers of gRPC, protobuf, Abseil, yaml-cpp, prometheus-cpp,
#                OpenCV (core, imgproc, calib3d), libjpeg-turbo, libpng, libwebp,
#                nlohmann-json: every top-level folder or file our build includes
#     lib/       the shared libraries our binaries load, with what they load in
#                turn (`ldd`), minus LibTorch's own and the C/C++ runtime;
#                libX.so links for the linker
#     bin/       protoc and grpc_cpp_plugin (wrappers running them against lib/)
#     models/face-api/  face-api's weight files (exported there by models/export.py
#                with the machine's own PyTorch: TorchScript files would be 4x
#                larger, and made by LibTorch 1.13)
#     photos/    face-api's six demo photos (the benchmark's images)
#     MANIFEST   what is inside, sizes, the Debian package of every library
#
# Run here, on Debian 12, after scripts/bootstrap.sh (it needs a build with
# LibTorch for the list of libraries):
#   deploy/gpu/pack_kit.sh [BUILD_DIR]          (default: build)
# then on the GPU machine: deploy/gpu/build_and_bench.sh (see its header).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-${BUILD:-build}}
OUT_DIR=.gpu-kit
LIMIT_MIB=${KIT_LIMIT_MIB:-50}  # leaves room for the working tree in the 64 MiB
FACEAPI=models/reference/node_modules/@vladmandic/face-api
log() { echo "pack_kit: $*" >&2; }

BINARIES=("$BUILD/bin/faceserve" "$BUILD/bin/facectl" "$BUILD/bin/model_limit")
for b in "${BINARIES[@]}"; do
  [[ -x $b ]] || { log "missing $b: build first (scripts/bootstrap.sh)"; exit 1; }
done
[[ -d $FACEAPI/model ]] || { log "missing $FACEAPI: npm ci in models/reference"; exit 1; }
command -v protoc >/dev/null && command -v grpc_cpp_plugin >/dev/null ||
  { log "protoc / grpc_cpp_plugin missing (protobuf-compiler-grpc)"; exit 1; }

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
KIT=$STAGE/kit
mkdir -p "$KIT"/{include,lib,bin/real,models,photos}

# ---------------------------------------------------------------- libraries
# Whatever the C/C++ runtime provides on any glibc machine stays behind, and so
# does LibTorch with everything only it needs (the GPU machine has its own).
is_runtime() {
  case "$(basename "$1")" in
    libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|ld-linux*|libstdc++.so.*|libgcc_s.so.*|linux-vdso*) return 0 ;;
  esac
  return 1
}
is_torch() {
  case "$(basename "$1")" in
    libtorch*|libc10*|libcaffe2*|libshm*) return 0 ;;
  esac
  return 1
}
# Direct needs of our binaries, torch's left out; then everything they load.
declare -A wanted=()
resolve() {  # $1: binary or library -> "soname path" lines
  ldd "$1" | awk '/=>/ && $3 ~ /^\// {print $1, $3}'
}
for bin in "${BINARIES[@]}" "$(command -v protoc)" "$(command -v grpc_cpp_plugin)"; do
  mapfile -t direct < <(readelf -d "$bin" | awk '/NEEDED/ {gsub(/[\[\]]/, "", $5); print $5}')
  while read -r soname path; do
    for d in "${direct[@]}"; do
      if [[ $soname == "$d" ]] && ! is_torch "$path" && ! is_runtime "$path"; then
        wanted[$path]=1
        while read -r _ dep; do
          is_runtime "$dep" || is_torch "$dep" || wanted[$dep]=1
        done < <(resolve "$path")
      fi
    done
  done < <(resolve "$bin")
done
: >"$STAGE/libraries.txt"
for path in $(printf '%s\n' "${!wanted[@]}" | sort); do
  cp -L "$path" "$KIT/lib/$(basename "$path")"
  real=$(readlink -f "$path")
  pkg=$(dpkg -S "$real" 2>/dev/null || dpkg -S "/usr${real#/usr}" 2>/dev/null || echo "?")
  printf '  %-45s %6sK  %s\n' "$(basename "$path")" "$(du -k "$real" | cut -f1)" "${pkg%%:*}" \
    >>"$STAGE/libraries.txt"
done
# libX.so -> libX.so.N links, for the linker.
(cd "$KIT/lib" && for f in *.so.*; do
  base=${f%%.so.*}.so
  [[ -e $base ]] || ln -s "$f" "$base"
done)

# ---------------------------------------------------------------- headers
# Every header our build opened (the compiler's depfiles), widened to its whole
# top-level folder under the include root so that a different compiler's
# preprocessor branches find theirs too. The C library's, libstdc++'s, the
# kernel's and LibTorch's headers stay behind.
owned_by() { dpkg -L "$@" 2>/dev/null | grep '^/usr/include/' || true; }
mapfile -t runtime_headers < <(owned_by libc6-dev libstdc++-12-dev linux-libc-dev libgcc-12-dev)
declare -A skip=()
for h in "${runtime_headers[@]}"; do skip[$h]=1; done
declare -A roots=()
while read -r header; do
  [[ -n ${skip[$header]:-} ]] && continue
  rel=${header#/usr/include/}
  rel=${rel#x86_64-linux-gnu/}
  rel=${rel#opencv4/}
  case "$rel" in
    torch/*|ATen/*|c10/*|caffe2/*|c++/*) continue ;;
    google/protobuf/*) roots[google/protobuf]=1 ;;
    */*) roots[${rel%%/*}]=1 ;;
    *) roots[$rel]=1 ;;
  esac
done < <(find "$BUILD" -name '*.o.d' -exec cat {} + | tr ' \\' '\n\n' |
         grep -E '^/usr/include/' | sort -u)
copy_root() {  # $1: folder or file relative to an include root
  local src
  for base in /usr/include /usr/include/x86_64-linux-gnu /usr/include/opencv4 \
              /usr/include/x86_64-linux-gnu/opencv4; do
    src=$base/$1
    if [[ -e $src ]]; then
      mkdir -p "$KIT/include/$(dirname "$1")"
      cp -rL "$src" "$KIT/include/$(dirname "$1")/"
    fi
  done
}
for r in "${!roots[@]}"; do copy_root "$r"; done
# protoc's well-known types, for completeness (our protos import none today).
[[ -d $KIT/include/google/protobuf ]] || copy_root google/protobuf

# ---------------------------------------------------------------- compilers
for tool in protoc grpc_cpp_plugin; do
  cp -L "$(command -v $tool)" "$KIT/bin/real/$tool"
  cat >"$KIT/bin/$tool" <<EOF
#!/bin/sh
# Runs the carried $tool against the carried libraries (pack_kit.sh).
here=\$(dirname "\$(readlink -f "\$0")")
LD_LIBRARY_PATH="\$here/../lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "\$here/real/$tool" "\$@"
EOF
  chmod +x "$KIT/bin/$tool"
done

# ---------------------------------------------------------------- weights, photos
cp -r "$FACEAPI/model" "$KIT/models/face-api"
cp "$FACEAPI"/demo/sample{1,2,3,4,5,6}.jpg "$KIT/photos/"

# ---------------------------------------------------------------- manifest
{
  echo "faceserve GPU kit, packed $(date -u +%FT%TZ) from commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown) on $(. /etc/os-release; echo "$PRETTY_NAME")"
  echo "C++ ABI: _GLIBCXX_USE_CXX11_ABI=1 (Debian's libraries); g++ $(g++ -dumpfullversion)"
  echo
  echo "libraries (size, Debian package):"
  cat "$STAGE/libraries.txt"
  echo
  echo "header roots: $(cd "$KIT/include" && ls | tr '\n' ' ')"
  echo "sizes: $(du -sh "$KIT/include" | cut -f1) headers, $(du -sh "$KIT/lib" | cut -f1) libraries, $(du -sh "$KIT/models" | cut -f1) weights, $(du -sh "$KIT/photos" | cut -f1) photos"
} >"$KIT/MANIFEST"

mkdir -p "$OUT_DIR"
tar -C "$STAGE" -cf - kit | xz -9e -T0 >"$OUT_DIR/kit.tar.xz.tmp"
mv "$OUT_DIR/kit.tar.xz.tmp" "$OUT_DIR/kit.tar.xz"
cp "$KIT/MANIFEST" "$OUT_DIR/MANIFEST"
size_mib=$(( $(stat -c %s "$OUT_DIR/kit.tar.xz") / 1048576 ))
log "$OUT_DIR/kit.tar.xz: ${size_mib} MiB ($(tail -1 "$KIT/MANIFEST"))"
if (( size_mib > LIMIT_MIB )); then
  log "over the ${LIMIT_MIB} MiB budget (the device tool carries 64 MiB with the tree)"
  exit 1
fi
