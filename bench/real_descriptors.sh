#!/usr/bin/env bash
# Descriptors of real photos, one {"person", "path", "embedding"} per line, for
# bench/make_face_like_data.py: every photo of ../shared/data/faces/verify
# (person: its folder) plus the other folders' photos (each its own person),
# the largest face of each, or the whole image when no face is found (the
# verify set's tight dlib chips). Needs a running server.
#
#   bench/real_descriptors.sh SERVER OUT.jsonl [PHOTOS_ROOT]
set -euo pipefail
cd "$(dirname "$0")/.."
SERVER=$1
OUT=$2
ROOT=${3:-../shared/data/faces}
FACECTL=(build/bin/facectl --server "$SERVER" --timeout-ms 60000)
: >"$OUT"
find "$ROOT" -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) | sort |
while read -r photo; do
  rel=${photo#"$ROOT"/}
  case $rel in
    verify/*) person=$(basename "$(dirname "$rel")") ;;
    *) person=$rel ;;
  esac
  line=$("${FACECTL[@]}" embed --largest "$photo" 2>/dev/null || true)
  if ! grep -q '"embedding"' <<<"$line"; then
    line=$("${FACECTL[@]}" embed --crop "$photo" 2>/dev/null || true)
  fi
  /usr/bin/python3 -c '
import json, sys
person, path, line = sys.argv[1:4]
try:
    faces = json.loads(line).get("faces", [])
except ValueError:
    faces = []
if faces and faces[0].get("embedding"):
    print(json.dumps({"person": person, "path": path, "embedding": faces[0]["embedding"]}))
' "$person" "$rel" "$line" >>"$OUT"
done
echo "$(wc -l <"$OUT") descriptors from $(find "$ROOT" -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) | wc -l) photos" >&2
