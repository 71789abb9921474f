"""Loading a model file to publish: ``.pt2`` (``torch.export``), TorchScript (``.ts``, or a
``.pt``/``.pth`` written by ``torch.jit.save``), a pickled ``nn.Module`` (a ``.pt``/``.pth``
written by ``torch.save(model)``), and Keras' ``.keras``/``.h5``/``.hdf5``. ONNX files and
SavedModel directories are published without loading them here."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from modelship.errors import BadConfig

__all__ = ["KERAS_SUFFIXES", "MODEL_SUFFIXES", "load_keras_file", "load_model_file"]

TORCH_SUFFIXES = (".pt", ".pth", ".ts", ".pt2")
KERAS_SUFFIXES = (".h5", ".hdf5", ".keras")
MODEL_SUFFIXES = (*TORCH_SUFFIXES, *KERAS_SUFFIXES, ".onnx")


def _is_torchscript(path: Path) -> bool:
    # torch.jit.save writes a zip archive holding a code/ folder; torch.save's has none.
    try:
        with zipfile.ZipFile(path) as archive:
            return any("/code/" in name for name in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _load_torch(path: Path) -> Any:
    try:
        import torch
    except ModuleNotFoundError as exc:
        raise BadConfig(f"{path} is a PyTorch file: pip install 'modelship[torch]'") from exc
    try:
        if path.suffix == ".pt2":
            return torch.export.load(str(path))
        if path.suffix == ".ts" or _is_torchscript(path):
            load_script: Any = torch.jit.load  # untyped
            return load_script(str(path), map_location="cpu").eval()
        # A pickled module runs code from the file: the user asked to publish this file.
        model = torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many types for a foreign file
        raise BadConfig(f"{path} is not a PyTorch model file: {exc}") from exc
    if not isinstance(model, torch.nn.Module):
        raise BadConfig(
            f"{path} holds a {type(model).__name__}, not a model (a state_dict? build the "
            "model, load the weights into it, and pass the module to modelship.save)"
        )
    return model


def load_keras_file(path: Path) -> Any:
    """Load a Keras model saved with ``model.save`` (HDF5 or the ``.keras`` zip format).

    Raises:
        BadConfig: the file is missing, has another suffix, or is not a Keras model.
    """
    if not path.is_file():
        raise BadConfig(f"{path} does not exist")
    if path.suffix.lower() not in KERAS_SUFFIXES:
        raise BadConfig(
            f"{path}: expected a Keras model file ending in {', '.join(KERAS_SUFFIXES)}"
        )
    from modelship.runtimes.tensorflow import import_tensorflow

    import_tensorflow()
    import keras

    try:
        # compile=False: the optimiser state and custom losses are not needed to serve.
        model = keras.models.load_model(str(path), compile=False)
    except Exception as exc:  # h5py, zipfile and Keras raise many types for foreign files
        raise BadConfig(
            f"{path} is not a Keras model file ({type(exc).__name__}: {exc}); "
            "save one with model.save('model.keras') or model.save('model.h5')"
        ) from exc
    if not isinstance(model, keras.Model):
        raise BadConfig(f"{path} holds a {type(model).__name__}, not a Keras model")
    return model


def load_model_file(path: Path) -> Any:
    """The model in ``path``, ready for :func:`modelship.saving.dispatch.plan_for`.

    Raises:
        BadConfig: missing file, unknown suffix, or not a model of that kind.
    """
    if not path.exists():
        raise BadConfig(f"{path} does not exist")
    suffix = path.suffix.lower()
    if suffix in TORCH_SUFFIXES:
        return _load_torch(path)
    if suffix in KERAS_SUFFIXES:
        return load_keras_file(path)
    raise BadConfig(
        f"{path}: expected a SavedModel directory or a model file ending in "
        f"{', '.join(MODEL_SUFFIXES)}"
    )
