"""The REST application: TF Serving's API, OpenAPI docs, JSON errors everywhere."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelship.errors import ModelshipError
from modelship.serving.board import board_routes, redirect_browsers
from modelship.serving.board.history import MetricsHistory
from modelship.serving.dataplane import DataPlane
from modelship.serving.rest.drift import drift_routes
from modelship.serving.rest.errors import (
    JSON_HEADER,
    REPLICA_HEADER,
    error_response,
    handle_modelship_error,
    handle_unexpected,
    unexpected_answer,
)
from modelship.serving.rest.fastpath import PredictFastPath
from modelship.serving.rest.metrics import METRICS_PATHS, metrics_routes
from modelship.serving.rest.openapi import openapi_routes
from modelship.serving.rest.tfserving import tf_serving_routes
from modelship.serving.rest.v2 import v2_routes

__all__ = ["build_app"]


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # pragma: no cover - registered for this type only
        return await handle_unexpected(request, exc)
    message = exc.detail
    if exc.status_code == 404:
        message = f"Malformed request: {request.method} {request.url.path} (no such endpoint)"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    return error_response(message, exc.status_code)


class ReplicaHeader:
    """Names the answering replica (its hostname) on every response, for load-balancer checks."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), REPLICA_HEADER]
            await send(message)

        await self.app(scope, receive, send_with_header)


class UnexpectedErrors:
    """Answers an error of ours with a 500 JSON body, logged once, and returns normally, so
    the server keeps the connection open. (A handler registered for ``Exception`` runs in
    Starlette's outermost middleware, which re-raises after answering: the server then logs
    a second traceback and closes the keep-alive connection.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception as exc:
            if started:  # half an answer is out: only closing the connection can tell
                raise
            status, body = unexpected_answer(exc, scope["method"], scope["path"])
            # ReplicaHeader, outside, adds the replica's name.
            headers = [JSON_HEADER]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})


def build_app(
    dataplane: DataPlane,
    max_body_bytes: int,
    extra_routes: list[BaseRoute] | None = None,
    lifespan: Any = None,
    *,
    timeout: float | None = None,
    cors: bool = False,
    metrics_paths: Sequence[str] = METRICS_PATHS,
    board: bool = False,
) -> Any:
    """The ASGI app serving ``dataplane``; ``lifespan`` runs what shares its loop (gRPC);
    ``board`` adds the model board's pages (a browser's ``GET /`` goes there)."""
    timeout = timeout or None
    board_pages: list[BaseRoute] = []
    if board:
        history = MetricsHistory(dataplane.metrics)
        history.start()
        board_pages = list(board_routes(dataplane, history))
    routes: list[BaseRoute] = [
        *tf_serving_routes(dataplane, max_body_bytes, timeout),
        *metrics_routes(dataplane.metrics, metrics_paths),
        *drift_routes(dataplane),
        *v2_routes(dataplane, max_body_bytes, timeout),
        *(extra_routes or []),
        *openapi_routes(),
        *board_pages,
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={ModelshipError: handle_modelship_error, HTTPException: _http_error},
        middleware=[Middleware(UnexpectedErrors)],
        lifespan=lifespan,
    )
    app.state.dataplane = dataplane
    served: ASGIApp = PredictFastPath(ReplicaHeader(app), dataplane, max_body_bytes, timeout)
    if board:
        served = redirect_browsers(served)
    if cors:
        # Outermost, so the predict fast path's answers carry the headers too. Like TF Serving:
        # any origin, GET and POST; preflights are answered without reaching the API.
        served = CORSMiddleware(
            served,
            allow_origins=["*"],
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
            expose_headers=["x-model-version", "x-modelship-replica"],
        )
    return served
