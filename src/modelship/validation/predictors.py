"""Something that answers class scores for a batch of examples: a local version or a server."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import numpy as np

from modelship.codecs.conform import conform_inputs
from modelship.errors import BadConfig
from modelship.runtimes import load_runtime

__all__ = ["LocalPredictor", "Predictor", "RestPredictor", "predictor_for"]

_BATCH = 256

Inputs = Mapping[str, np.ndarray[Any, Any]]


class Predictor(Protocol):
    """Class scores (``N x classes``) for examples: one ``N x ...`` array per input name (a
    single array feeds a one-input model whatever its input is called)."""

    description: str

    def scores(self, inputs: Inputs) -> np.ndarray[Any, Any]: ...


def _rows(inputs: Inputs) -> int:
    return len(next(iter(inputs.values())))


class LocalPredictor:
    """A version directory run in-process with its runtime (ONNX Runtime for ``model.onnx``)."""

    def __init__(self, path: Path) -> None:
        self.description = str(path)
        self._runtime = load_runtime(path)
        self._signature_name, self._signature = next(iter(self._runtime.signatures.items()))

    def named(self, inputs: Inputs) -> Inputs:
        """``inputs`` keyed by the signature's input names; a clear error when they differ."""
        expected = list(self._signature.inputs)
        if len(expected) == 1 and len(inputs) == 1:
            return {expected[0]: next(iter(inputs.values()))}
        if set(inputs) != set(expected):
            missing = [name for name in expected if name not in inputs]
            extra = [name for name in inputs if name not in self._signature.inputs]
            problems = []
            if missing:
                problems.append(f"missing {', '.join(missing)}")
            if extra:
                problems.append(f"not inputs of the model: {', '.join(extra)}")
            raise BadConfig(
                f"{self.description} takes the inputs {', '.join(expected)}; the data gives "
                f"{', '.join(inputs)} ({'; '.join(problems)}). Give one array per input name "
                "(and the labels as y)"
            )
        return inputs

    def scores(self, inputs: Inputs) -> np.ndarray[Any, Any]:
        named = self.named(inputs)
        # A model exported with a fixed batch takes exactly that many rows: the last block is
        # padded with copies of its last row, whose answers are dropped.
        step = self._signature.fixed_batch or _BATCH
        parts = []
        for start in range(0, _rows(named), step):
            block = {name: array[start : start + step] for name, array in named.items()}
            rows = _rows(block)
            if self._signature.fixed_batch and rows < step:
                block = {name: _padded(array, step) for name, array in block.items()}
            outputs = self._runtime.predict(
                self._signature_name, conform_inputs(self._signature, block)
            )
            parts.append(np.asarray(next(iter(outputs.values())))[:rows])
        return np.concatenate(parts)


def _padded(array: np.ndarray[Any, Any], rows: int) -> np.ndarray[Any, Any]:
    return np.concatenate([array, np.repeat(array[-1:], rows - len(array), axis=0)])


class RestPredictor:
    """A model served behind TF Serving's REST API, addressed by its URL.

    ``http://host:8501/v1/models/mnist`` (latest), ``.../versions/3`` or ``.../labels/stable``.
    """

    def __init__(self, url: str) -> None:
        from modelship.client import Client

        parts = urlsplit(url)
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) < 3 or segments[:2] != ["v1", "models"]:
            raise BadConfig(
                f"--against {url}: expected a model URL like http://host:8501/v1/models/mnist "
                "(optionally /versions/N or /labels/NAME)"
            )
        self.model = segments[2]
        self.version: int | None = None
        self.label: str | None = None
        if len(segments) == 5 and segments[3] == "versions" and segments[4].isdigit():
            self.version = int(segments[4])
        elif len(segments) == 5 and segments[3] == "labels":
            self.label = segments[4]
        elif len(segments) != 3:
            raise BadConfig(f"--against {url}: cannot read a version or label from the path")
        self.description = url
        self._client = Client(f"{parts.scheme}://{parts.netloc}")

    def scores(self, inputs: Inputs) -> np.ndarray[Any, Any]:
        parts = []
        single = len(inputs) == 1
        flat = next(iter(inputs.values())).reshape(_rows(inputs), -1) if single else None
        for start in range(0, _rows(inputs), _BATCH):
            end = start + _BATCH
            columns: Any = (
                flat[start:end].tolist()
                if flat is not None
                else {name: array[start:end].tolist() for name, array in inputs.items()}
            )
            outputs = self._client.predict(
                self.model, inputs=columns, version=self.version, label=self.label
            )
            if isinstance(outputs, dict):  # several outputs: the first holds the scores
                outputs = next(iter(outputs.values()))
            parts.append(np.asarray(outputs, dtype=np.float64))
        return np.concatenate(parts)


def predictor_for(target: str | Path) -> Predictor:
    """A REST predictor for an ``http(s)://`` URL, a local one for a directory."""
    text = str(target)
    if text.startswith(("http://", "https://")):
        return RestPredictor(text)
    path = Path(text)
    if not path.is_dir():
        raise BadConfig(f"{path} is not a version directory or a model URL")
    return LocalPredictor(path)
