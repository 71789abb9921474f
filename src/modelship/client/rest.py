"""REST clients for TensorFlow Serving's API, served by modelship or by TF Serving itself."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

__all__ = ["AsyncClient", "Client", "ServerError", "b64_image", "top_class", "version_labels"]

ImageSource = Path | str | bytes


def b64_image(image: ImageSource) -> dict[str, str]:
    """``{"b64": ...}`` for an encoded image (JPEG, PNG...) given as a path or as bytes.

    The file is sent as it is: the server decodes, resizes and normalises it exactly as the
    model was trained, which is also far smaller on the wire than a JSON list of floats.
    """
    data = image if isinstance(image, bytes) else Path(image).read_bytes()
    return {"b64": base64.b64encode(data).decode("ascii")}


def _image_body(images: Sequence[ImageSource], top_k: int) -> bytes:
    if not images:
        raise ValueError("give at least one image")
    instances = [b64_image(image) for image in images]
    return orjson.dumps({"instances": instances, "parameters": {"top_k": top_k}})


def _ranked(predictions: Any) -> list[list[tuple[str, float]]]:
    return [
        [(str(c), float(s)) for c, s in zip(p["classes"], p["scores"], strict=True)]
        for p in predictions
    ]


class ServerError(Exception):
    """The server answered with an error: its HTTP status and its ``error`` message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def _path(model: str, version: int | None, label: str | None) -> str:
    if version is not None and label is not None:
        raise ValueError("give either a version or a label, not both")
    path = f"/v1/models/{model}"
    if version is not None:
        path += f"/versions/{int(version)}"
    elif label is not None:
        path += f"/labels/{label}"
    return path


def _predict_body(instances: Any, inputs: Any, signature_name: str | None) -> bytes:
    if (instances is None) == (inputs is None):
        raise ValueError("give exactly one of instances (row format) or inputs (columnar)")
    body: dict[str, Any] = {}
    if signature_name:
        body["signature_name"] = signature_name
    if instances is not None:
        body["instances"] = instances
    else:
        body["inputs"] = inputs
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)


def _decode(response: httpx.Response) -> Any:
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        data = None
    if response.status_code >= 400:
        message = data.get("error") if isinstance(data, dict) else None
        raise ServerError(response.status_code, message or response.text)
    return data


def top_class(probabilities: Any, labels: list[str] | None = None) -> list[tuple[str, float]]:
    """``(class, confidence)`` per row of class probabilities, as the seed's ``model_predict``."""
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.ndim == 1:
        probs = probs[None, :]
    best = probs.argmax(axis=1)
    names = labels or [str(i) for i in range(probs.shape[1])]
    return [(names[i], float(probs[row, i])) for row, i in enumerate(best)]


def version_labels(metadata: Any) -> list[str] | None:
    """The class labels a version's metadata answer lists (modelship's addition), if any."""
    extra = metadata.get("metadata", {}).get("modelship", {}) if isinstance(metadata, dict) else {}
    labels = extra.get("labels") if isinstance(extra, dict) else None
    return [str(label) for label in labels] if labels else None


class Client:
    """Synchronous client: ``Client("http://localhost:8501").predict("mnist", instances=...)``."""

    def __init__(self, url: str, timeout: float = 30.0, **httpx_options: Any) -> None:
        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout, **httpx_options)

    def status(self, model: str, version: int | None = None, label: str | None = None) -> Any:
        """The ``model_version_status`` list."""
        data = _decode(self._http.get(_path(model, version, label)))
        return data["model_version_status"]

    def metadata(self, model: str, version: int | None = None, label: str | None = None) -> Any:
        """The metadata answer: ``model_spec`` and ``metadata.signature_def``."""
        return _decode(self._http.get(_path(model, version, label) + "/metadata"))

    def predict(
        self,
        model: str,
        instances: Any = None,
        *,
        inputs: Any = None,
        version: int | None = None,
        label: str | None = None,
        signature_name: str | None = None,
    ) -> Any:
        """``predictions`` (row format) or ``outputs`` (columnar format) of a predict call."""
        response = self._http.post(
            _path(model, version, label) + ":predict",
            content=_predict_body(instances, inputs, signature_name),
            headers={"content-type": "application/json"},
        )
        data = _decode(response)
        return data["predictions"] if instances is not None else data["outputs"]

    def classify(
        self, model: str, instances: Any, labels: list[str] | None = None, **options: Any
    ) -> list[tuple[str, float]]:
        """``(class name, confidence)`` per instance; class names from ``labels`` if given,
        else the version's own (its metadata), else the class indices."""
        if labels is None:
            version, label = options.get("version"), options.get("label")
            labels = version_labels(self.metadata(model, version=version, label=label))
        return top_class(self.predict(model, instances, **options), labels)

    def classify_images(
        self,
        model: str,
        images: Sequence[ImageSource],
        *,
        version: int | None = None,
        label: str | None = None,
    ) -> list[tuple[str, float]]:
        """``(class name, confidence)`` per image, for a model that takes b64 images.

        Images are paths or encoded bytes (JPEG, PNG...), sent as ``{"b64": ...}``.
        """
        return [ranked[0] for ranked in self.top_k_images(model, images, 1, version, label)]

    def top_k_images(
        self,
        model: str,
        images: Sequence[ImageSource],
        k: int = 3,
        version: int | None = None,
        label: str | None = None,
    ) -> list[list[tuple[str, float]]]:
        """The ``k`` best ``(class name, score)`` pairs per image, best first."""
        response = self._http.post(
            _path(model, version, label) + ":predict",
            content=_image_body(images, k),
            headers={"content-type": "application/json"},
        )
        return _ranked(_decode(response)["predictions"])

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient:
    """The asynchronous twin of :class:`Client` (``await client.predict(...)``)."""

    def __init__(self, url: str, timeout: float = 30.0, **httpx_options: Any) -> None:
        self._http = httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout, **httpx_options)

    async def status(self, model: str, version: int | None = None, label: str | None = None) -> Any:
        data = _decode(await self._http.get(_path(model, version, label)))
        return data["model_version_status"]

    async def metadata(
        self, model: str, version: int | None = None, label: str | None = None
    ) -> Any:
        return _decode(await self._http.get(_path(model, version, label) + "/metadata"))

    async def predict(
        self,
        model: str,
        instances: Any = None,
        *,
        inputs: Any = None,
        version: int | None = None,
        label: str | None = None,
        signature_name: str | None = None,
    ) -> Any:
        response = await self._http.post(
            _path(model, version, label) + ":predict",
            content=_predict_body(instances, inputs, signature_name),
            headers={"content-type": "application/json"},
        )
        data = _decode(response)
        return data["predictions"] if instances is not None else data["outputs"]

    async def classify_images(
        self,
        model: str,
        images: Sequence[ImageSource],
        *,
        version: int | None = None,
        label: str | None = None,
    ) -> list[tuple[str, float]]:
        """``(class name, confidence)`` per image (paths or encoded bytes), sent as b64."""
        response = await self._http.post(
            _path(model, version, label) + ":predict",
            content=_image_body(images, 1),
            headers={"content-type": "application/json"},
        )
        return [ranked[0] for ranked in _ranked(_decode(response)["predictions"])]

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
