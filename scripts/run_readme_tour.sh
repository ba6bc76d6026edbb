#!/usr/bin/env bash
# Runs the README's tours word for word: starts the server as the README's
# set-up command does (config/default.yaml, its default ports), then every
# command of the first sh block under "Quick tour", "Galleries", "HTTP/JSON",
# "Python client" and "Video streams", and fails on the first that fails or does not print
# what the README promises. scripts/check_fresh_install.sh calls it on a
# fresh clone with nothing beside it, so the tour cannot come to need
# ../shared again.
#
#   scripts/run_readme_tour.sh        (after scripts/bootstrap.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> [%s] run_readme_tour: %s\n' "$(date -u +%T)" "$*" >&2; }
# A tour: the first ```sh block after the heading that starts with $1.
tour_block() {
  awk -v heading="$1" 'index($0, heading) == 1 { in_section = 1 }
                       in_section && /^```sh/ { in_block = 1; next }
                       in_block && /^```/ { exit }
                       in_block { print }' README.md
}
tour=$(tour_block "## Quick tour")
galleries=$(tour_block "## Galleries")
http=$(tour_block "## HTTP/JSON")
python=$(tour_block "## Python client")
stream=$(tour_block "## Video streams")
[[ -n $tour ]] || { echo "no sh block under '## Quick tour' in README.md" >&2; exit 1; }
[[ -n $galleries ]] || { echo "no sh block under '## Galleries' in README.md" >&2; exit 1; }
[[ -n $http ]] || { echo "no sh block under '## HTTP/JSON' in README.md" >&2; exit 1; }
[[ -n $python ]] || { echo "no sh block under '## Python client' in README.md" >&2; exit 1; }
[[ -n $stream ]] || { echo "no sh block under '## Video streams' in README.md" >&2; exit 1; }
# The tour talks to the default addresses; refuse to run against a stranger.
for port in 50051 8080; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    echo "port $port is taken: the tour needs the server on its default addresses" >&2
    exit 1
  fi
done

work=$(mktemp -d)
log "build/bin/faceserve --config config/default.yaml (as the README starts it)"
build/bin/faceserve --config config/default.yaml >"$work/faceserve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
if ! build/bin/facectl health --wait 600 >/dev/null; then
  cat "$work/faceserve.log" >&2
  exit 1
fi
# Runs block $2 (named $1) word for word into $work/$1.out; fails loudly.
run_block() {
  log "the $1 tour, word for word:"
  printf '%s\n' "$2" >&2
  bash -euo pipefail -c "$2" >"$work/$1.out" 2>&1 || {
    tail -c 4000 "$work/$1.out" >&2
    echo "the README's $1 tour failed" >&2
    exit 1
  }
}
# Fails with the end of $work/$1.out when the previous command failed.
promised() {
  tail -c 3000 "$work/$1.out" >&2
  echo "the $1 tour's output is not what the README says: $2" >&2
  exit 1
}

run_block quick "$tour"
# What its comments promise: the same face matches, two people do not.
grep -c '"match":true' "$work/quick.out" | grep -qx 1 || promised quick "one match"
grep -c '"match":false' "$work/quick.out" | grep -qx 1 || promised quick "one non-match"
log "the README's tour ran ($(wc -l <"$work/quick.out") lines of output)"

run_block gallery "$galleries"
# What it promises: ada enrolled, found again in her own photo (identified),
# and the import brings the gallery back with her face.
grep -q '"subject":"ada","results":\[{"image":[^]]*"face_id":' "$work/gallery.out" ||
  promised gallery "ada enrolled"
grep -q '"identified":true' "$work/gallery.out" || promised gallery "a face identified"
grep -q '"imported":"demo","subjects":1,"faces":1' "$work/gallery.out" ||
  promised gallery "the gallery imported back"
log "the README's gallery tour ran ($(wc -l <"$work/gallery.out") lines of output)"

run_block http "$http"
# What it promises: ages from the raw body, expressions from the form,
# the routes, and a 400.
grep -q '"name":"age_years"' "$work/http.out" || promised http "an age from the raw-body analyze"
grep -q '"predictor":"expression"' "$work/http.out" || promised http "an expression from the form upload"
grep -q '"/v1/analyze"' "$work/http.out" || promised http "/v1/analyze in the OpenAPI document"
tail -n 1 "$work/http.out" | grep -qx 400 || promised http "400 for a body that is not an image"
log "the README's HTTP tour ran ($(wc -l <"$work/http.out") lines of output)"

run_block python "$python"
# What it promises: ada identified in her photo, and the typed error.
grep -q "^\['ada'" "$work/python.out" || promised python "ada identified first"
grep -qx 'StatusCode.INVALID_ARGUMENT UNSUPPORTED_FORMAT' "$work/python.out" ||
  promised python "the typed error and its reason"
log "the README's Python tour ran ($(wc -l <"$work/python.out") lines of output)"

rm -f /tmp/faces-tracks.mp4
run_block stream "$stream"
# What it promises: frame 0 with a tracked face, a summary with no frame
# skipped and its tracks, and the drawn clip.
head -n 1 "$work/stream.out" | grep -q '^{"frame":0,.*"faces":\[{"track_id":1,' ||
  promised stream "frame 0 with track 1"
tail -n 1 "$work/stream.out" | grep -q '"frames_skipped":0,.*"tracks":\[{.*"track_id":1,' ||
  promised stream "the summary with its tracks"
[[ -s /tmp/faces-tracks.mp4 ]] || promised stream "the drawn clip /tmp/faces-tracks.mp4"
log "the README's stream tour ran"
