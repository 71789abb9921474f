"""Something that answers class scores for a batch of examples: a local version or a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import numpy as np

from modelship.codecs.conform import conform_inputs
from modelship.errors import BadConfig
from modelship.runtimes import load_runtime

__all__ = ["LocalPredictor", "Predictor", "RestPredictor", "predictor_for"]

_BATCH = 256


class Predictor(Protocol):
    """Class scores (``N x classes``) for examples ``N x ...``."""

    description: str

    def scores(self, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]: ...


class LocalPredictor:
    """A version directory run in-process with its runtime (ONNX Runtime for ``model.onnx``)."""

    def __init__(self, path: Path) -> None:
        self.description = str(path)
        self._runtime = load_runtime(path)
        self._signature_name, self._signature = next(iter(self._runtime.signatures.items()))
        if len(self._signature.inputs) != 1:
            raise BadConfig(f"{path}: validation needs a model with one input")
        self._input = next(iter(self._signature.inputs))

    def scores(self, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        parts = []
        for start in range(0, len(x), _BATCH):
            inputs = conform_inputs(self._signature, {self._input: x[start : start + _BATCH]})
            outputs = self._runtime.predict(self._signature_name, inputs)
            parts.append(np.asarray(next(iter(outputs.values()))))
        return np.concatenate(parts)


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

    def scores(self, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        parts = []
        flat = x.reshape(len(x), -1)
        for start in range(0, len(flat), _BATCH):
            outputs = self._client.predict(
                self.model,
                inputs=flat[start : start + _BATCH].tolist(),
                version=self.version,
                label=self.label,
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
