#!/bin/sh
# pip install into /opt/venv inside an image build, pinned by the project's constraints.
#
# Two ways to reach packages, both optional, used when present:
#   - a CA bundle passed as the BuildKit secret "ca" (`--secret id=ca,src=$PIP_CERT`): mounted at
#     /run/secrets/ca for this RUN step only, so it never lands in a layer;
#   - a wheelhouse (deploy/wheelhouse/, bind-mounted at /wheelhouse): searched first; with
#     PIP_OFFLINE=1 it is the only source (air-gapped builds).
set -eu
[ -f /run/secrets/ca ] && export PIP_CERT=/run/secrets/ca
set -- -c /src/constraints.txt "$@"
if ls /wheelhouse/*.whl >/dev/null 2>&1; then
  set -- --find-links /wheelhouse "$@"
fi
if [ "${PIP_OFFLINE:-0}" = 1 ]; then
  set -- --no-index "$@"
fi
exec /opt/venv/bin/pip install --disable-pip-version-check --progress-bar off "$@"
