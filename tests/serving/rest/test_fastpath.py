"""The predict fast path as bare ASGI: it answers ``POST ...:predict`` itself, with the shared
error mapping, and hands every other request to the app behind it untouched."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from modelship.registry import Registry
from modelship.serving.dataplane import DataPlane
from modelship.serving.executor import ThreadExecutor
from modelship.serving.metrics import Metrics
from modelship.serving.rest.errors import REPLICA_HEADER
from modelship.serving.rest.fastpath import PredictFastPath
from tests.fixtures.fake_runtime import FakeRuntime, serve_fake

LIMIT = 1000
BODY = b'{"instances": [[0.5, 1.0, 2.0]]}'


class InnerApp:
    """Answers 299 with a body naming the path, and remembers every scope it saw."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"inner " + scope["path"].encode()})


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime()


@pytest.fixture
def inner() -> InnerApp:
    return InnerApp()


@pytest.fixture
def fastpath(runtime: FakeRuntime, inner: InnerApp) -> Iterator[PredictFastPath]:
    registry = Registry()
    serve_fake(registry, runtime)
    executor = ThreadExecutor(threads=1)
    yield PredictFastPath(inner, DataPlane(registry, executor, Metrics(registry)), LIMIT)
    executor.close()


def _call(
    app: PredictFastPath,
    path: str,
    body: bytes = BODY,
    method: str = "POST",
    headers: list[tuple[bytes, bytes]] | None = None,
    disconnect: bool = False,
) -> list[dict[str, Any]]:
    """The messages the app sends for one request."""
    scope = {"type": "http", "method": method, "path": path, "headers": headers or []}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if disconnect:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def _answer(sent: list[dict[str, Any]]) -> tuple[int, dict[bytes, bytes], Any]:
    start, body = sent
    assert start["type"] == "http.response.start"
    assert body["type"] == "http.response.body"
    return start["status"], dict(start["headers"]), orjson.loads(body["body"])


@pytest.mark.parametrize("path", ["/v1/models/toy:predict", "/v1/models/toy/versions/1:predict"])
def test_predict_is_answered_without_the_inner_app(
    fastpath: PredictFastPath, inner: InnerApp, runtime: FakeRuntime, path: str
) -> None:
    status, headers, answer = _answer(_call(fastpath, path))
    assert status == 200
    assert answer == {"predictions": [[1.0, 2.0, 4.0]]}
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"x-model-version"] == b"1"
    assert headers[REPLICA_HEADER[0]] == REPLICA_HEADER[1]
    assert inner.scopes == []
    assert runtime.calls == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/models/toy"),
        ("GET", "/v1/models/toy/metadata"),
        ("GET", "/v1/models/toy:predict"),  # predict's path, another method
        ("POST", "/v1/models/toy:classify"),
        ("POST", "/v2/models/toy/infer"),
        ("POST", "/v1/models/toy/other/1:predict"),  # not a predict path the parser knows
        ("POST", "/v1/models/:predict"),
        ("POST", "/elsewhere:predict"),
    ],
)
def test_other_requests_go_to_the_inner_app_untouched(
    fastpath: PredictFastPath, inner: InnerApp, runtime: FakeRuntime, method: str, path: str
) -> None:
    sent = _call(fastpath, path, method=method)
    assert sent == [
        {"type": "http.response.start", "status": 299, "headers": []},
        {"type": "http.response.body", "body": b"inner " + path.encode()},
    ]
    assert [scope["path"] for scope in inner.scopes] == [path]
    assert runtime.calls == 0


@pytest.mark.parametrize("kind", ["lifespan", "websocket"])
def test_non_http_scopes_go_to_the_inner_app(
    fastpath: PredictFastPath, inner: InnerApp, kind: str
) -> None:
    scope: dict[str, Any] = {"type": kind, "path": "/v1/models/toy:predict"}

    async def receive() -> dict[str, Any]:
        raise AssertionError("not read")

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError("nothing sent")

    asyncio.run(fastpath(scope, receive, send))
    assert inner.scopes == [scope]


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "message"),
    [
        (
            "/v1/models/ghost:predict",
            BODY,
            [],
            404,
            "Servable not found for request: Latest(ghost)",
        ),
        ("/v1/models/toy/versions/2:predict", BODY, [], 404, "Specific(toy, 2)"),
        ("/v1/models/toy/versions/0:predict", BODY, [], 404, "Malformed version '0'"),
        ("/v1/models/toy/labels/stable:predict", BODY, [], 404, "Unrecognized servable version"),
        ("/v1/models/toy:predict", b"{nope", [], 400, "not valid JSON"),
        ("/v1/models/toy:predict", b'{"instances": [[1]]}', [], 400, "expected 3 values"),
        ("/v1/models/toy:predict", b" " * (LIMIT + 1), [], 413, "exceeds the limit of 1000"),
        (
            "/v1/models/toy:predict",
            BODY,
            [(b"content-length", b"5000")],
            413,
            "request body of 5000 bytes exceeds the limit of 1000 bytes",
        ),
        (
            "/v1/models/toy:predict",
            BODY,
            [(b"content-length", b"many")],
            400,
            "Content-Length must be a number of bytes",
        ),
    ],
)
def test_errors_are_answered_as_json_with_the_status_of_their_code(
    fastpath: PredictFastPath,
    inner: InnerApp,
    path: str,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    status: int,
    message: str,
) -> None:
    answer_status, answer_headers, answer = _answer(
        _call(fastpath, path, body=body, headers=headers)
    )
    assert answer_status == status
    assert message in answer["error"]
    assert answer_headers[b"content-type"] == b"application/json"
    assert b"x-model-version" not in answer_headers
    assert REPLICA_HEADER[0] in answer_headers
    assert inner.scopes == []


def test_a_runtime_failure_is_a_logged_500_and_the_next_request_is_served(
    fastpath: PredictFastPath, runtime: FakeRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    runtime.error = RuntimeError("boom")
    with caplog.at_level(logging.ERROR, logger="modelship.rest"):
        status, _, answer = _answer(_call(fastpath, "/v1/models/toy:predict"))
    assert (status, answer) == (500, {"error": "internal error: RuntimeError: boom"})
    assert "unexpected error on POST /v1/models/toy:predict" in caplog.messages
    runtime.error = None
    assert _answer(_call(fastpath, "/v1/models/toy:predict"))[0] == 200


def test_a_client_gone_before_its_body_gets_no_answer(
    fastpath: PredictFastPath, runtime: FakeRuntime
) -> None:
    assert _call(fastpath, "/v1/models/toy:predict", disconnect=True) == []
    assert runtime.calls == 0
