"""A lean ASGI handler for ``POST /v1/models/...:predict``, in front of the Starlette app.

Routing predict through Starlette costs a third of a small model's request (see
benchmarks/results/PROFILE.md); this handler talks ASGI directly and shares the app's parsers
and error mapping.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from modelship.errors import ClientGone, ModelshipError
from modelship.serving.dataplane import DataPlane
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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" and scope["method"] == "POST" else ""
        if not path.endswith(":predict"):
            await self.app(scope, receive, send)
            return
        headers = [JSON_HEADER, REPLICA_HEADER]
        try:
            spec = parse_predict_path(path)
            if spec is None:
                await self.app(scope, receive, send)
                return

            async def read() -> bytes:
                return await read_body(scope, receive, self.max_body_bytes)

            answer, version = await predict(self.dataplane, spec, read, self.timeout)
            status = 200
            headers.append((b"x-model-version", str(version).encode()))
        except ClientGone:
            return  # nobody to answer
        except ModelshipError as exc:
            status, answer = error_answer(exc)
        except Exception as exc:
            status, answer = unexpected_answer(exc, "POST", path)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": answer})
