"""REST clients for TensorFlow Serving's API, served by modelship or by TF Serving itself."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import orjson

__all__ = ["AsyncClient", "Client", "ServerError", "top_class"]


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
        """``(class name, confidence)`` per instance; class names from ``labels`` if given."""
        return top_class(self.predict(model, instances, **options), labels)

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

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
