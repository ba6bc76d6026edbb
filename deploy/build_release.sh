#!/usr/bin/env bash
# The build step of both container images (deploy/Dockerfile.cpu and the GPU
# deploy/Dockerfile): builds faceserve and facectl (Release, no tests), and
# lays out what the runtime stage copies:
#
#   OUT/bin/faceserve, OUT/bin/facectl   stripped
#   OUT/runtime-packages.txt              the Debian packages owning every
#                                         shared library they load (ldd), for
#                                         the runtime stage to install; a
#                                         library no package owns (a LibTorch
#                                         unzipped into /opt) is left to the
#                                         Dockerfile to copy
#
# Usage, from the repository root inside the build stage:
#   deploy/build_release.sh OUT [extra cmake arguments...]
set -euo pipefail
out=${1:?usage: deploy/build_release.sh OUT [cmake arguments...]}
shift
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DFACESERVE_BUILD_TESTS=OFF "$@"
cmake --build build -j"$(nproc)" --target faceserve facectl
mkdir -p "$out/bin"
install -s build/bin/faceserve build/bin/facectl "$out/bin/"

# dpkg knows a library by one of its names: the path ldd gives, its target,
# or the same with or without the /usr of Debian's merged /usr.
owner() {
  local p q found
  for p in "$1" "$(readlink -f "$1")"; do
    for q in "$p" "${p#/usr}" "/usr$p"; do
      found=$(dpkg-query -S "$q" 2>/dev/null | head -n1 | cut -d: -f1) || true
      if [[ -n $found ]]; then
        echo "$found"
        return 0
      fi
    done
  done
  return 1
}
ldd "$out"/bin/* | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u |
  while read -r lib; do owner "$lib" || echo "build_release: no Debian package owns $lib" >&2; done |
  sort -u >"$out/runtime-packages.txt"
echo "build_release: $(wc -l <"$out/runtime-packages.txt") runtime packages:" \
  "$(tr '\n' ' ' <"$out/runtime-packages.txt")" >&2
