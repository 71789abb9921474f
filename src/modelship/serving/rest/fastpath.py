"""A lean ASGI handler for ``POST /v1/models/...:predict``, in front of the Starlette app.

Routing predict through Starlette costs a third of a small model's request (see
benchmarks/results/PROFILE.md); this handler talks ASGI directly and shares the app's parsers
and error mapping.
"""

from __future__ import annotations

from functools import partial

from starlette.types import ASGIApp, Receive, Scope, Send

from modelship.errors import ClientGone, ModelshipError
from modelship.serving.dataplane import DataPlane
from modelship.serving.inference import ModelSpec
from modelship.serving.rest.body import read_body
from modelship.serving.rest.errors import (
    JSON_HEADER,
    REPLICA_HEADER,
    error_answer,
    unexpected_answer,
)
from modelship.serving.rest.paths import parse_predict_path
from modelship.serving.rest.tfserving import predict

__all__ = ["PredictFastPath"]

# Paths and versions kept at most; past it they are forgotten and parsed again.
_MAX_KEPT = 1024
_UNPARSED = ModelSpec("")


class PredictFastPath:
    """Serves predict requests itself; passes every other request to ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        dataplane: DataPlane,
        max_body_bytes: int,
        timeout: float | None = None,
    ) -> None:
        self.app = app
        self.dataplane = dataplane
        self.max_body_bytes = max_body_bytes
        self.timeout = timeout
        # Parsed predict paths, and each version's x-model-version header: built once, not per
        # request (both bounded: paths and versions come from clients).
        self._specs: dict[str, ModelSpec | None] = {}
        self._headers: dict[int, tuple[bytes, bytes]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" and scope["method"] == "POST" else ""
        if not path.endswith(":predict"):
            await self.app(scope, receive, send)
            return
        try:
            spec = self._specs.get(path, _UNPARSED)
            if spec is _UNPARSED:
                spec = self._parse(path)
            if spec is None:
                await self.app(scope, receive, send)
                return
            # A partial, not a coroutine of our own: one await less per request.
            read = partial(read_body, scope, receive, self.max_body_bytes)
            answer, version = await predict(self.dataplane, spec, read, self.timeout)
            status = 200
            version_header = self._headers.get(version)
            if version_header is None:
                version_header = self._version_header(version)
            # A new list each time: middleware outside (CORS) may add to it in place.
            headers = [JSON_HEADER, REPLICA_HEADER, version_header]
        except ClientGone:
            return  # nobody to answer
        except ModelshipError as exc:
            status, answer = error_answer(exc)
            headers = [JSON_HEADER, REPLICA_HEADER]
        except Exception as exc:
            status, answer = unexpected_answer(exc, "POST", path)
            headers = [JSON_HEADER, REPLICA_HEADER]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    def _parse(self, path: str) -> ModelSpec | None:
        spec = parse_predict_path(path)  # may raise InvalidInput: not kept
        if len(self._specs) >= _MAX_KEPT:
            self._specs.clear()
        self._specs[path] = spec
        return spec

    def _version_header(self, version: int) -> tuple[bytes, bytes]:
        header = (b"x-model-version", str(version).encode())
        if len(self._headers) >= _MAX_KEPT:
            self._headers.clear()
        self._headers[version] = header
        return header
