#!/usr/bin/env bash
# The sharpness scale of a stream's best shot: bench/face_sharpness.py.
# Writes bench/results/face-sharpness-<date>.md.
#
#   bench/face_sharpness.sh                 (after scripts/bootstrap.sh; needs ../shared)
set -euo pipefail
cd "$(dirname "$0")/.."
# The Python client in a venv, as scripts/python_client_test.sh installs it.
VENV=${BUILD:-build}/python-venv
[[ -x $VENV/bin/python ]] || /usr/bin/python3 -m venv --system-site-packages "$VENV"
"$VENV/bin/pip" install --quiet --no-build-isolation --no-index --disable-pip-version-check client/python
exec "$VENV/bin/python" bench/face_sharpness.py --build "${BUILD:-build}" \
  --out "bench/results/face-sharpness-$(date -u +%F)" "$@"
