"""Turning a Keras model file (``.h5``, ``.keras``) into a servable model version.

This is the seed's ``load_model('model.h5')`` then ``save(f'.../{ts}', save_format='tf')`` step,
done once and completely: the new version gets a TF Serving SavedModel, ``model.onnx`` and a
``modelship.json`` recording where it came from, published atomically.
"""

from __future__ import annotations

import hashlib
import platform
import re
from pathlib import Path
from typing import Any

from modelship.errors import BadConfig
from modelship.export import code_version, write_version
from modelship.manifest import Manifest

__all__ = ["KERAS_SUFFIXES", "convert_keras", "load_keras_file"]

KERAS_SUFFIXES = (".h5", ".hdf5", ".keras")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def convert_keras(
    path: Path, name: str, output: Path, version: int | None = None
) -> tuple[Path, Manifest]:
    """Publish the Keras model in ``path`` as ``output/name/<version>``.

    Args:
        path: a ``.h5``/``.hdf5``/``.keras`` file written by Keras' ``model.save``.
        name: the model name (its folder under ``output``).
        output: the model repository.
        version: the version number; ``None`` picks the next one (unix time).

    Returns:
        The version directory and its manifest.

    Raises:
        BadConfig: a bad name, or a file that is not a Keras model (nothing is written).
        AlreadyExists: ``version`` is already published.
    """
    if not _NAME.match(name):
        raise BadConfig(
            f"model name {name!r} must start with a letter or digit and hold only letters, "
            "digits, '_', '.' and '-'"
        )
    model = load_keras_file(path)
    from modelship.training.keras_export import (
        export_keras,
        keras_framework_versions,
        keras_signature,
    )

    signature = keras_signature(model)
    manifest = Manifest(
        name=name,
        framework="tensorflow",
        signatures={signature.name: signature},
        parameters={
            "converted_from": path.name,
            "source_sha256": _sha256(path),
            "keras_model_name": str(getattr(model, "name", "")),
        },
        code_version=code_version(),
        framework_versions={**keras_framework_versions(), "python": platform.python_version()},
    )
    return write_version(
        output / name, manifest, lambda directory: export_keras(model, directory), version=version
    )
