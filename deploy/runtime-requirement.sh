#!/bin/sh
# The pip requirement that installs modelship for one serving runtime (serving.Dockerfile's
# RUNTIME build argument): onnx (onnxruntime only, the default), torch or tensorflow.
# Every image has onnxruntime: a version with model.onnx runs in any of them.
set -eu
case "${1:-onnx}" in
  onnx) echo "." ;;
  torch) echo ".[serve-torch]" ;;
  tensorflow) echo ".[serve-tensorflow]" ;;
  *) echo "RUNTIME must be onnx, torch or tensorflow, not '$1'" >&2; exit 2 ;;
esac
