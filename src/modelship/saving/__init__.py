"""Publishing a user's own model (PyTorch, Keras, ONNX, SavedModel) as a checked version."""

from modelship.saving.api import ExportWarning, SaveResult, publish, save

__all__ = ["ExportWarning", "SaveResult", "publish", "save"]
