#!/usr/bin/env bash
# Regenerates the Python modules (messages, type stubs, gRPC stubs) from modelship's .proto
# files. Run from anywhere: `scripts/gen-protos.sh` (PYTHON=... to choose the interpreter).
#
# Two rewrites follow protoc, so the generated code lives inside the modelship package:
#  - imports between the generated modules become package-relative;
#  - descriptors go into modelship's own descriptor pool instead of protobuf's default one,
#    because TensorFlow, tensorflow-serving-api and tritonclient register the same message
#    names (tensorflow.TensorProto, inference.ModelInferRequest) in the default pool, and one
#    process may import them beside modelship (a TensorFlow runtime, a test, a notebook).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
SRC=src/modelship/protos
OUT=src/modelship/protos

rm -f "$OUT"/*_pb2.py "$OUT"/*_pb2.pyi "$OUT"/*_pb2_grpc.py
"$PY" -m grpc_tools.protoc -I "$SRC" \
  --python_out="$OUT" --pyi_out="$OUT" --grpc_python_out="$OUT" "$SRC"/*.proto
sed -i -E \
  -e 's/^import ([a-z0-9_]+_pb2) as /from . import \1 as /' \
  -e 's/_descriptor_pool\.Default\(\)\.AddSerializedFile\(/_POOL.AddSerializedFile(/' \
  -e 's/^(from google\.protobuf import descriptor_pool as _descriptor_pool)$/\1\nfrom . import POOL as _POOL/' \
  "$OUT"/*_pb2.py "$OUT"/*_pb2.pyi "$OUT"/*_pb2_grpc.py
# protoc writes a _grpc module for every file; keep those that define a service.
for f in "$OUT"/*_pb2_grpc.py; do grep -q "Servicer" "$f" || rm "$f"; done
echo "generated $(ls "$OUT"/*_pb2*.py | wc -l) modules in $OUT"
