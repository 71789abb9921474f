#!/usr/bin/env bash
# Build a wheelhouse on this host for offline image builds (`pip install --no-index --find-links`):
# every pinned dependency of modelship (with the given extras) plus the build backend.
#
# Usage: scripts/build-wheelhouse.sh [--extras torch,tensorflow,jupyter] [DIR]   (DIR: deploy/wheelhouse)
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=""
DIR=deploy/wheelhouse
while [ $# -gt 0 ]; do
  case "$1" in
    --extras) EXTRAS=$2; shift ;;
    -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) DIR=$1 ;;
  esac
  shift
done
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
mkdir -p "$DIR"
spec=.
[ -n "$EXTRAS" ] && spec=".[$EXTRAS]"
# The wheels must fit the images: CPython 3.11 on manylinux x86_64, like this host.
"$PYTHON" -m pip wheel -q --wheel-dir "$DIR" -c constraints.txt "$spec" hatchling
rm -f "$DIR"/modelship-*.whl
echo "$(ls "$DIR"/*.whl | wc -l) wheels in $DIR ($(du -sh "$DIR" | cut -f1))"
