"""Load tests: modelship and its peers serve the same ONNX models, driven by wrk."""
