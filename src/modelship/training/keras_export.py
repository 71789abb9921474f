"""Writing a Keras model as a TF Serving SavedModel, as ONNX and as a ``.keras`` file.

The same code serves models trained here and models converted from a user's ``.h5``/``.keras``
file: the serving signature is derived from the model's own inputs and outputs (their Keras
names become the signature's tensor names), so what the SavedModel's ``serving_default``
declares, what ``model.onnx`` takes and what ``modelship.json`` records always agree.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelship.errors import BadConfig
from modelship.runtimes.tensorflow import import_tensorflow
from modelship.signature import DEFAULT_SIGNATURE, PREDICT_METHOD, Signature, TensorSpec

__all__ = [
    "KERAS_NAME",
    "ONNX_NAME",
    "ONNX_OPSET",
    "export_keras",
    "export_onnx",
    "export_savedmodel",
    "keras_framework_versions",
    "keras_outputs",
    "keras_signature",
]

ONNX_OPSET = 17
ONNX_NAME = "model.onnx"
KERAS_NAME = "model.keras"


def _input_signature(model: Any) -> list[Any]:
    tf = import_tensorflow()
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise BadConfig(
            "the Keras model has no defined inputs (a subclassed model that was never built "
            "on an Input?); save a functional or Sequential model with an input shape"
        )
    return [
        tf.TensorSpec([None, *tensor.shape[1:]], tf.as_dtype(tensor.dtype), name=tensor.name)
        for tensor in inputs
    ]


def _output_names(model: Any) -> list[str]:
    names = list(getattr(model, "output_names", None) or [])
    if not names:
        names = [f"output_{i}" for i in range(len(model.outputs))]
    return names


def _serving_function(model: Any) -> tuple[Callable[..., dict[str, Any]], list[Any]]:
    """``fn(*inputs) -> {output name: tensor}`` in inference mode, and its input signature."""
    specs = _input_signature(model)
    names = _output_names(model)

    def serve(*tensors: Any) -> dict[str, Any]:
        outputs = model(tensors[0] if len(tensors) == 1 else list(tensors), training=False)
        if isinstance(outputs, dict):
            return dict(outputs)
        if not isinstance(outputs, list | tuple):
            outputs = [outputs]
        return dict(zip(names, outputs, strict=True))

    return serve, specs


def keras_signature(model: Any, name: str = DEFAULT_SIGNATURE) -> Signature:
    """The signature (``serving_default`` unless ``name`` says otherwise) the exports of
    ``model`` have."""
    tf = import_tensorflow()
    serve, specs = _serving_function(model)
    concrete = tf.function(serve).get_concrete_function(*specs)

    def spec(dtype: Any, shape: Any) -> TensorSpec:
        dims = tuple(-1 if d is None else int(d) for d in shape)
        return TensorSpec("object" if dtype == tf.string else dtype.name, dims)

    inputs = {s.name: spec(s.dtype, s.shape) for s in specs}
    outputs = {k: spec(v.dtype, v.shape) for k, v in concrete.structured_outputs.items()}
    return Signature(inputs, outputs, method_name=PREDICT_METHOD, name=name)


def keras_outputs(model: Any, inputs: list[Any]) -> dict[str, Any]:
    """What ``model`` answers in inference mode for ``inputs`` (one array per model input, in
    order), by the output names its exports use, as numpy arrays."""
    tf = import_tensorflow()
    serve, specs = _serving_function(model)
    tensors = [tf.convert_to_tensor(x, dtype=s.dtype) for x, s in zip(inputs, specs, strict=True)]
    return {k: v.numpy() for k, v in serve(*tensors).items()}


def export_savedmodel(model: Any, directory: Path, name: str = DEFAULT_SIGNATURE) -> Path:
    """Write ``model`` as a SavedModel into ``directory`` (``saved_model.pb``, ``variables/``).

    The only signature is ``name`` (``serving_default``) with the model's input names and
    output names, so TF Serving, ``tf.saved_model.load`` and modelship's TensorFlow runtime
    all see the same named tensors. Dropout and other training-only layers run in inference mode.
    """
    import keras

    serve, specs = _serving_function(model)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name, serve, input_signature=specs)
    archive.write_out(str(directory), verbose=False)
    return directory / "saved_model.pb"


def export_onnx(model: Any, path: Path) -> Path:
    """Convert ``model`` to ONNX at ``path`` with tf2onnx; same names as the SavedModel."""
    tf = import_tensorflow()
    import tf2onnx

    serve, specs = _serving_function(model)
    # tf2onnx reports each rewrite on stdout/stderr; keep the training output readable.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        tf2onnx.convert.from_function(
            tf.function(serve), input_signature=specs, opset=ONNX_OPSET, output_path=str(path)
        )
    return path


def export_keras(model: Any, directory: Path) -> dict[str, str]:
    """Write every artifact of a version: SavedModel, ``model.onnx``, ``model.keras``.

    Returns:
        role -> file name inside ``directory``, for the manifest's ``artifacts``.
    """
    export_savedmodel(model, directory)
    export_onnx(model, directory / ONNX_NAME)
    model.save(str(directory / KERAS_NAME))
    return {"savedmodel": "saved_model.pb", "onnx": ONNX_NAME, "keras": KERAS_NAME}


def keras_framework_versions() -> dict[str, str]:
    """Versions of what trains and exports Keras models."""
    tf = import_tensorflow()
    import keras
    import onnx
    import tf2onnx

    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tf2onnx": tf2onnx.__version__,
        "onnx": onnx.__version__,
    }
