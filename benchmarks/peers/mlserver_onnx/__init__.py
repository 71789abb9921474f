"""An MLServer runtime for ONNX models (MLServer ships none), loaded via ``implementation``."""
