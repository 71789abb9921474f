"""A version's own Python code: ``process.py`` beside the model files.

The module may define any of:

- ``preprocess(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]``: runs on each batch of
  request inputs (typed by the signature clients see) before the model;
- ``postprocess(outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]``: runs on the model's
  outputs before they are answered;
- ``predict(inputs) -> outputs``: the model itself, for a version with no other artifact (an eager
  PyTorch module that loads its weights from ``Path(__file__).parent``, say);
- ``SIGNATURE = {"inputs": {name: {"dtype", "shape"}}, "outputs": {...}}``: the tensors clients
  send and receive when they differ from the model's (either key may be left out).

Every function keeps the batch dimension first (batching merges requests' rows before it). To
refuse a request, raise :class:`modelship.errors.InvalidInput` (a 400 / INVALID_ARGUMENT).
The file is code: it is imported only from a version directory in the model repository the
server was configured with, never from a path a request names. An exception raised in it
answers that request 500 with a summary of the user's traceback, never stops the server.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from modelship.errors import BadConfig, ModelshipError
from modelship.manifest import Manifest
from modelship.runtimes.base import Arrays, Runtime
from modelship.signature import DEFAULT_SIGNATURE, Signature, TensorSpec

__all__ = [
    "PROCESS_NAME",
    "ProcessedRuntime",
    "ProcessingFailed",
    "PythonRuntime",
    "load_process_module",
    "process_file",
]

PROCESS_NAME = "process.py"

logger = logging.getLogger("modelship.process")


class ProcessingFailed(ModelshipError):
    """A version's own ``process.py`` raised; the message summarises the user's traceback."""

    code = "INTERNAL"


def process_file(path: Path, manifest: Manifest | None) -> Path | None:
    """The version's processing module, if it has one; it must be a file inside the version.

    Raises:
        BadConfig: the manifest names a module that is missing or lies outside the version.
    """
    named = manifest.extra.get("process") if manifest is not None else None
    candidate = path / (str(named) if named else PROCESS_NAME)
    if not candidate.is_file():
        if named:
            raise BadConfig(f"modelship.json names process module {named!r}; {path} lacks it")
        return None
    resolved, root = candidate.resolve(), path.resolve()
    if resolved.parent != root:
        # A link out of the version would run code the repository does not hold.
        raise BadConfig(f"{candidate} must be a file inside {path}, not a link out of it")
    return resolved


def _summary(exc: BaseException, source: Path) -> str:
    """``ValueError: bad token (process.py, line 12, in preprocess)``: the exception and the
    innermost frame of the user's file."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(source)]
    where = f" ({source.name}, line {frames[-1].lineno}, in {frames[-1].name})" if frames else ""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}{where}"


def load_process_module(source: Path) -> ModuleType:
    """Import ``source`` under a name of its own (two versions never share a module).

    Raises:
        BadConfig: importing it raised; the message summarises where.
    """
    digest = hashlib.sha256(str(source).encode()).hexdigest()[:16]
    name = f"modelship_process_{digest}"
    spec = importlib.util.spec_from_file_location(name, source)
    if spec is None or spec.loader is None:
        raise BadConfig(f"cannot import {source}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # the user's code may raise anything
        raise BadConfig(f"importing {source} failed: {_summary(exc, source)}") from exc
    sys.modules.pop(name, None)
    return module


def _call(module: ModuleType, source: Path, function: str, arrays: Arrays) -> Arrays:
    try:
        result = getattr(module, function)(dict(arrays))
    except ModelshipError:
        raise  # the file's own verdict, e.g. InvalidInput for a request it refuses: a 400
    except (Exception, SystemExit) as exc:  # SystemExit too: it must not end a worker
        summary = _summary(exc, source)
        logger.error("%s: %s() failed: %s", source, function, summary, exc_info=exc)
        raise ProcessingFailed(f"{source.name} {function}() failed: {summary}") from exc
    if not isinstance(result, dict):
        raise ProcessingFailed(
            f"{source.name} {function}() returned a {type(result).__name__}; it must return a "
            "dict of name -> array"
        )
    return {str(k): np.asarray(v) for k, v in result.items()}


def _declared(module: ModuleType, source: Path) -> dict[str, Any]:
    declared = getattr(module, "SIGNATURE", None) or {}
    if not isinstance(declared, dict):
        raise BadConfig(f"{source}: SIGNATURE must be a dict with inputs and/or outputs")
    return declared


def _specs(declared: dict[str, Any], key: str, source: Path) -> dict[str, TensorSpec] | None:
    if key not in declared:
        return None
    try:
        return {str(k): TensorSpec.from_json(v) for k, v in dict(declared[key]).items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise BadConfig(
            f"{source}: SIGNATURE[{key!r}] must map names to {{'dtype', 'shape'}}: {exc}"
        ) from exc


def _public(module: ModuleType, source: Path, inner: dict[str, Signature]) -> dict[str, Signature]:
    """The signatures clients see: the model's, with SIGNATURE's inputs/outputs in their place."""
    declared = _declared(module, source)
    inputs, outputs = _specs(declared, "inputs", source), _specs(declared, "outputs", source)
    return {
        name: Signature(
            inputs if inputs is not None else s.inputs,
            outputs if outputs is not None else s.outputs,
            s.method_name,
            name,
            s.extra,
        )
        for name, s in inner.items()
    }


class ProcessedRuntime:
    """A loaded model with the version's ``preprocess``/``postprocess`` around each batch."""

    def __init__(self, runtime: Runtime, module: ModuleType, source: Path) -> None:
        self.name = runtime.name
        self.device = getattr(runtime, "device", "cpu")
        self.signatures = _public(module, source, runtime.signatures)
        self._runtime = runtime
        self._module = module
        self._source = source
        self._pre = callable(getattr(module, "preprocess", None))
        self._post = callable(getattr(module, "postprocess", None))

    def predict(self, signature_name: str, inputs: Arrays) -> Arrays:
        if self._pre:
            inputs = _call(self._module, self._source, "preprocess", inputs)
        outputs = self._runtime.predict(signature_name, inputs)
        if self._post:
            outputs = _call(self._module, self._source, "postprocess", outputs)
        return outputs

    def close(self) -> None:
        self._runtime.close()


class PythonRuntime:
    """A model that is the version's ``process.py`` itself: its ``predict(inputs)`` computes."""

    def __init__(self, module: ModuleType, source: Path, manifest: Manifest | None) -> None:
        if not callable(getattr(module, "predict", None)):
            raise BadConfig(
                f"{source} defines no predict(inputs): a version without model.onnx, "
                "saved_model.pb or model.pt2 needs one"
            )
        declared = _declared(module, source)
        inputs, outputs = _specs(declared, "inputs", source), _specs(declared, "outputs", source)
        if manifest is not None and manifest.signatures:
            signature = manifest.default_signature
            inputs = inputs if inputs is not None else signature.inputs
            outputs = outputs if outputs is not None else signature.outputs
            name = signature.name
        else:
            name = DEFAULT_SIGNATURE
        if inputs is None or outputs is None:
            raise BadConfig(
                f"{source}: say what predict() takes and returns, in SIGNATURE or in the "
                "version's modelship.json"
            )
        self.name = "python"
        self.signatures = {name: Signature(inputs, outputs, name=name)}
        self._module = module
        self._source = source

    def predict(self, signature_name: str, inputs: Arrays) -> Arrays:
        return _call(self._module, self._source, "predict", inputs)

    def close(self) -> None:
        del self._module
