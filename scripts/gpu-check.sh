#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU and a Python with PyTorch for CUDA that reaches
# no package index: installs modelship and what that Python lacks from .gpu-wheels/ (built here
# by `make gpu-wheels`), runs the GPU tests (pytest marker `gpu`) and the device tests, then the
# benchmark of benchmarks/gpu_check.py, which prints a table and writes gpu-check.md and
# gpu-check.json into the results folder.
#
# Usage: scripts/gpu-check.sh [--quick] [--results DIR] [--no-tests] [--no-benchmark]
#   PYTHON       the interpreter with PyTorch (default: python3)
#   GPU_WHEELS   the wheels folder (default: .gpu-wheels); without it, modelship must import
# Without a GPU the GPU tests skip and the benchmark measures the CPU rows only.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
WHEELS=${GPU_WHEELS:-.gpu-wheels}
RESULTS=benchmarks/results
QUICK=()
TESTS=1
BENCH=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=(--quick) ;;
    --results) RESULTS=$2; shift ;;
    --no-tests) TESTS=0 ;;
    --no-benchmark) BENCH=0 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

status=0
step() { printf '\n== %s\n' "$*"; }

step "installing from $WHEELS"
if ls "$WHEELS"/*.whl >/dev/null 2>&1; then
  SITE=$(mktemp -d /tmp/modelship-site.XXXXXX)
  "$PY" -m pip install -q --no-index --no-deps --no-compile --disable-pip-version-check \
    --target "$SITE" "$WHEELS"/*.whl || { echo "installing the wheels failed" >&2; exit 1; }
  # The checked-out source first, so the check runs this tree even if the wheel is older.
  export PYTHONPATH="$PWD/src:$PWD:$SITE${PYTHONPATH:+:$PYTHONPATH}"
  export PATH="$SITE/bin:$PATH"
  echo "$(ls "$WHEELS"/*.whl | wc -l) wheels into $SITE"
else
  export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}"
  echo "no wheels in $WHEELS: using the packages $PY has"
fi
"$PY" -c "import modelship.serving.server" || { echo "modelship does not import" >&2; exit 1; }

step "devices"
command -v nvidia-smi >/dev/null && nvidia-smi -L
"$PY" -m modelship info || status=1

if [ "$TESTS" = 1 ]; then
  step "GPU tests and device tests"
  "$PY" -m pytest -q -p no:cacheprovider \
    tests/gpu tests/test_devices.py tests/training/test_device.py \
    tests/runtimes/test_out_of_memory.py tests/serving/test_out_of_memory.py || status=1
fi

if [ "$BENCH" = 1 ]; then
  step "benchmark"
  "$PY" -m benchmarks.gpu_check "${QUICK[@]}" --results "$RESULTS" || status=1
fi
exit $status
