#!/usr/bin/env bash
# What a new user does on a fresh clone, with nothing beside it: the README's
# set-up command (scripts/bootstrap.sh), then faceserve on config/full.yaml,
# which must turn SERVING and answer `facectl analyze` with the output of
# every model that configuration names, for every face; then the README's
# quick tour word for word (scripts/run_readme_tour.sh).
#
# The clone's own ../shared (the photos and weights this project's developers
# have) is hidden for the whole run: an empty tmpfs is mounted over it in a
# private mount namespace (unshare, as root). Where that is not allowed, the
# check runs in a new clone in a temporary folder instead (slower: it builds
# again). .ci/run calls this first, so CI proves it on a clean checkout.
#
#   scripts/check_fresh_install.sh
#   CHECK_IN_CLONE=1 scripts/check_fresh_install.sh   the temporary-clone way
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SHARED=$(cd .. && pwd)/shared
# A free loopback port (the kernel's pick), unless CHECK_PORT names one.
PORT=${CHECK_PORT:-$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
DEMO=models/reference/node_modules/@vladmandic/face-api/demo/sample1.jpg

log() { printf '\n==> [%s] check_fresh_install: %s\n' "$(date -u +%T)" "$*" >&2; }

# Inside the namespace (or in the fresh clone): set up, serve, analyze.
if [[ ${1:-} == --inside ]]; then
  [[ ! -e $SHARED ]] || [[ -z $(ls -A "$SHARED") ]] || { echo "$SHARED is not hidden" >&2; exit 1; }
  log "scripts/bootstrap.sh with $SHARED empty"
  scripts/bootstrap.sh
  log "faceserve --config config/full.yaml on 127.0.0.1:$PORT"
  work=$(mktemp -d)
  build/bin/faceserve --config config/full.yaml --set server.listen="127.0.0.1:$PORT" \
    --set metrics.listen= --set http.listen= >"$work/faceserve.log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
  if ! build/bin/facectl --server "127.0.0.1:$PORT" health --wait 600; then
    cat "$work/faceserve.log" >&2
    exit 1
  fi
  log "facectl analyze --embeddings $DEMO"
  build/bin/facectl --server "127.0.0.1:$PORT" --timeout-ms 120000 analyze --embeddings "$DEMO" \
    >"$work/analyze.json"
  build/bin/faceserve --config config/full.yaml --print-config >"$work/full.yaml"
  /usr/bin/python3 scripts/every_model_answered.py "$work/full.yaml" "$work/analyze.json"
  kill $pid
  wait $pid 2>/dev/null || true
  log "the README's quick tour, word for word (scripts/run_readme_tour.sh)"
  scripts/run_readme_tour.sh
  exit 0
fi

if [[ ! -d $SHARED ]]; then
  log "nothing beside the clone to hide"
  exec "$0" --inside
fi
if [[ ${CHECK_IN_CLONE:-0} != 1 && $(id -u) == 0 ]] && unshare --mount --propagation private true 2>/dev/null; then
  log "hiding $SHARED (empty tmpfs in a private mount namespace)"
  exec unshare --mount --propagation private bash -c \
    'mount -t tmpfs -o size=1m,mode=0555 faceserve-no-shared "$1" && exec "$2" --inside' \
    _ "$SHARED" "$ROOT/scripts/check_fresh_install.sh"
fi
log "cannot hide $SHARED here: checking in a new clone in a temporary folder"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
git clone -q "$ROOT" "$TMP/faceserve"
(cd "$TMP/faceserve" && scripts/check_fresh_install.sh --inside)
