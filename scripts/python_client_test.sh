#!/usr/bin/env bash
# The Python client's tests: installs client/python into a virtual
# environment over Debian's python3-grpcio and python3-protobuf (the versions
# it supports; no network: --no-index), then runs tests/python with pytest
# against real faceserve processes (ctest's python.client calls this).
#
#   scripts/python_client_test.sh [pytest arguments]
# Environment: BUILD (default build), FACESERVE_BINARY and FACECTL_BINARY
# (default: those in $BUILD/bin).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=$(cd "${BUILD:-build}" && pwd)
VENV=$BUILD/python-venv
# One installer at a time (ctest runs python.client and web.page at once).
(
  flock 9
  [[ -x $VENV/bin/python ]] || /usr/bin/python3 -m venv --system-site-packages "$VENV"
  "$VENV/bin/pip" install --quiet --no-build-isolation --no-index --disable-pip-version-check \
    client/python
) 9>"$BUILD/python-venv.lock"
export FACESERVE_BINARY=${FACESERVE_BINARY:-$BUILD/bin/faceserve}
export FACECTL_BINARY=${FACECTL_BINARY:-$BUILD/bin/facectl}
cd tests/python
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
