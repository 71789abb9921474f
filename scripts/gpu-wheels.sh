#!/usr/bin/env bash
# The wheels scripts/gpu-check.sh installs on a GPU machine that reaches no package index:
# modelship itself and the small packages such a machine's Python (with PyTorch for CUDA, numpy,
# grpcio, httpx, rich, prometheus-client, pillow and protobuf) lacks, at the versions pinned in
# constraints.txt, for CPython 3.12 on x86-64 Linux. They travel with the repository in an
# ignored folder, so they must stay small: pure-Python and small compiled wheels only.
#
# Usage: scripts/gpu-wheels.sh [--dest DIR] [--python-version X.Y] [--limit-mb N]
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=.gpu-wheels
PYTHON_VERSION=3.12
LIMIT_MB=40
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
while [ $# -gt 0 ]; do
  case "$1" in
    --dest) DEST=$2; shift ;;
    --python-version) PYTHON_VERSION=$2; shift ;;
    --limit-mb) LIMIT_MB=$2; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# modelship's serving dependencies that are not on the GPU machine, and grpcio and protobuf at
# the versions the generated gRPC and protobuf modules were made with (older ones refuse them).
PACKAGES=(
  starlette uvicorn httptools orjson pydantic pydantic_core pydantic-settings python-dotenv
  annotated-types typing-inspection grpcio grpcio-health-checking grpcio-reflection protobuf
  google-crc32c
)
PLATFORMS=()
for tag in manylinux_2_28 manylinux_2_27 manylinux_2_17 manylinux2014 manylinux_2_5 manylinux1; do
  PLATFORMS+=(--platform "${tag}_x86_64")
done

rm -rf "$DEST" && mkdir -p "$DEST"
"$PY" -m pip download --quiet --no-deps --only-binary=:all: --implementation cp \
  --python-version "$PYTHON_VERSION" "${PLATFORMS[@]}" -c constraints.txt -d "$DEST" "${PACKAGES[@]}"
"$PY" -m pip wheel --quiet --no-deps -w "$DEST" .

total=$(du -cb "$DEST"/*.whl | tail -1 | cut -f1)
count=$(ls "$DEST"/*.whl | wc -l)
echo "$count wheels in $DEST: $(( total / 1000000 )) MB (limit $LIMIT_MB MB)"
if [ "$total" -gt $(( LIMIT_MB * 1000000 )) ]; then
  du -b "$DEST"/*.whl | sort -n | tail -5 >&2
  echo "the GPU wheels exceed $LIMIT_MB MB" >&2
  exit 1
fi
