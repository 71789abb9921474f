"""A lean ASGI handler for ``POST /v1/models/...:predict``, in front of the Starlette app.

Predict is the request that matters for throughput. Routing it through Starlette (regex route
matching, a ``Request`` object, exception middleware, a ``Response`` object, the replica-header
wrapper) cost about a third of the time of a small model's request in measurements with wrk;
this handler parses the path with string operations and talks ASGI directly. Everything else,
and any predict path it does not recognise, goes to the Starlette app unchanged, so behaviour
(status codes, error bodies) is the same on both paths; the REST tests exercise this one.
"""

from __future__ import annotations

import logging
import socket
import time

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from modelship.errors import InvalidInput, ModelshipError, PayloadTooLarge
from modelship.serving.dataplane import DataPlane, ModelSpec
from modelship.serving.deadline import Deadline
from modelship.serving.metrics import API_REST_TFS
from modelship.serving.rest.body import too_large_message
from modelship.serving.rest.errors import HTTP_STATUS
from modelship.serving.rest.tfserving import predict_body

__all__ = ["PredictFastPath", "parse_predict_path"]

logger = logging.getLogger("modelship.rest")

_PREFIX = "/v1/models/"
_SUFFIX = ":predict"
_JSON = (b"content-type", b"application/json")


def parse_predict_path(path: str) -> ModelSpec | None:
    """The model, version or label of a predict path, or None when it is not one."""
    if not (path.startswith(_PREFIX) and path.endswith(_SUFFIX)):
        return None
    parts = path[len(_PREFIX) : -len(_SUFFIX)].split("/")
    if not parts[0] or ":" in parts[0]:
        return None
    if len(parts) == 1:
        return ModelSpec(parts[0])
    if len(parts) != 3 or not parts[2]:
        return None
    if parts[1] == "versions":
        if not (parts[2].isdigit() and int(parts[2]) > 0):
            return None  # Starlette's route answers with the right message
        return ModelSpec(parts[0], version=int(parts[2]))
    if parts[1] == "labels":
        return ModelSpec(parts[0], label=parts[2])
    return None


class PredictFastPath:
    """Serves predict requests itself; passes every other request to ``app``.

    Args:
        app: the full application.
        dataplane: answers predict requests.
        max_body_bytes: larger bodies are refused with 413.
        deadline: the inferences' deadline; None: no limit.
    """

    def __init__(
        self,
        app: ASGIApp,
        dataplane: DataPlane,
        max_body_bytes: int,
        deadline: Deadline | None = None,
    ) -> None:
        self.app = app
        self.deadline = deadline
        self.dataplane = dataplane
        self.max_body_bytes = max_body_bytes
        self.replica = (b"x-modelship-replica", socket.gethostname().encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        spec = None
        if scope["type"] == "http" and scope["method"] == "POST":
            spec = parse_predict_path(scope["path"])
        if spec is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        version = str(spec.version or "")
        code = "OK"
        headers = [_JSON, self.replica]
        try:
            served = self.dataplane.resolve(spec)
            version = str(served.version)
            raw = await self._read_body(scope, receive)
            if raw is None:
                code = "CANCELLED"
                return  # the client went away
            answer = await predict_body(self.dataplane, served, raw, self.deadline)
            status = 200
            headers.append((b"x-model-version", version.encode()))
        except ModelshipError as exc:
            code = exc.code
            status = 413 if isinstance(exc, PayloadTooLarge) else HTTP_STATUS.get(exc.code, 500)
            answer = orjson.dumps({"error": exc.message})
        except Exception as exc:  # a bug or a runtime failure: report it, keep serving
            logger.exception("unexpected error on POST %s", scope["path"])
            code = "INTERNAL"
            status = 500
            answer = orjson.dumps({"error": f"internal error: {type(exc).__name__}: {exc}"})
        finally:
            self.dataplane.metrics.request(
                spec.name, version, API_REST_TFS, code, time.perf_counter() - started
            )
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        limit = self.max_body_bytes
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit():
                    raise InvalidInput("Content-Length must be a number of bytes")
                if int(value) > limit:
                    raise PayloadTooLarge(too_large_message(int(value), limit))
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(too_large_message(size, limit))
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
