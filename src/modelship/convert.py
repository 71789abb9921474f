"""Turning a model file into a servable model version: ``modelship convert``.

For a Keras file this is the seed's ``load_model('model.h5')`` then ``save(f'.../{ts}')`` step,
done once and completely; PyTorch (``.pt2``, TorchScript, pickled modules), ONNX files and
SavedModel directories go the same way. Each artifact written is loaded by the runtime that
serves it and compared with the original before the version is published (see
:mod:`modelship.saving`), with a ``modelship.json`` recording where it came from.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelship.errors import BadConfig
from modelship.saving.files import KERAS_SUFFIXES, load_keras_file

if TYPE_CHECKING:
    from modelship.saving.api import SaveResult

__all__ = ["KERAS_SUFFIXES", "convert_file", "load_keras_file", "read_example"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def read_example(path: Path) -> Any:
    """Example inputs from a ``.npy`` (one input) or ``.npz`` (one array per input name)."""
    import numpy as np

    try:
        loaded = np.load(str(path), allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise BadConfig(f"{path}: expected a .npy or .npz file of example inputs ({exc})") from exc
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        return {name: loaded[name] for name in loaded.files}


def convert_file(
    path: Path,
    name: str,
    output: Path,
    version: int | None = None,
    *,
    example: Any = None,
    **options: Any,
) -> SaveResult:
    """Publish the model in ``path`` as ``output/name/<version>``, checked like
    :func:`modelship.save` (which takes the same ``options``).

    Args:
        path: a SavedModel directory, or a ``.onnx``, ``.pt2``, TorchScript (``.ts``/``.pt``),
            pickled-module (``.pt``/``.pth``), ``.keras``, ``.h5`` or ``.hdf5`` file.
        name: the model name (its folder under ``output``).
        output: the model repository.
        version: the version number; ``None`` picks the next one (unix time).
        example: example inputs; needed for TorchScript and pickled PyTorch modules.

    Raises:
        BadConfig: a bad name, a file that is not a model, or a required artifact that failed
            its check (nothing is written).
        AlreadyExists: ``version`` is already published.
    """
    from modelship.saving.api import publish

    if not _NAME.match(name):
        raise BadConfig(
            f"model name {name!r} must start with a letter or digit and hold only letters, "
            "digits, '_', '.' and '-'"
        )
    if not path.exists():
        raise BadConfig(f"{path} does not exist")
    parameters = {"converted_from": path.name, "source_sha256": _sha256(path)}
    return publish(
        path,
        output,
        example,
        name=name,
        version=version,
        parameters={**parameters, **dict(options.pop("parameters", None) or {})},
        **options,
    )
