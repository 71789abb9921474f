"""The REST app in process (httpx's ASGI transport): the predict fast path and the routed app
share one error mapping, body reader and headers, and no bad request takes the server down."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from modelship.registry import Registry
from modelship.serving.dataplane import DataPlane
from modelship.serving.executor import ThreadExecutor
from modelship.serving.metrics import Metrics
from modelship.serving.rest.app import build_app
from tests.fixtures.fake_runtime import FakeRuntime, serve_fake

ROW = [0.5, 1.0, 2.0]


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime()


@pytest.fixture
def app(runtime: FakeRuntime) -> Iterator[Any]:
    registry = Registry()
    serve_fake(registry, runtime, labels=("cat", "dog", "fox"))
    executor = ThreadExecutor(threads=1)
    yield build_app(DataPlane(registry, executor, Metrics(registry)), max_body_bytes=4096)
    executor.close()


def _call(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def send() -> httpx.Response:
        # An error the app raised (instead of answering) would fail the test here.
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://modelship") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(send())


def test_predict_answers_with_the_version_and_replica_headers(app: Any) -> None:
    answer = _call(app, "POST", "/v1/models/toy:predict", json={"instances": [ROW]})
    assert answer.status_code == 200
    assert answer.json() == {"predictions": [[1.0, 2.0, 4.0]]}
    assert answer.headers["x-model-version"] == "1"
    assert answer.headers["content-type"] == "application/json"
    assert "x-modelship-replica" in answer.headers


def test_top_k_and_the_columnar_format(app: Any) -> None:
    body = {"inputs": [ROW], "parameters": {"top_k": 1}}
    answer = _call(app, "POST", "/v1/models/toy/versions/1:predict", json=body)
    assert answer.json() == {
        "outputs": {"probabilities": [[1.0, 2.0, 4.0]], "classes": [["fox"]], "scores": [[4.0]]}
    }


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/v1/models/toy:predict", b"{nope", 400, "the body is not valid JSON"),
        ("/v1/models/ghost:predict", b"{}", 404, "Servable not found for request: Latest(ghost)"),
        ("/v1/models/toy/versions/x:predict", b"{}", 404, "Malformed version"),
        ("/v1/models/toy/versions/%C2%B2:predict", b"{}", 404, "Malformed version"),
        ("/v1/models/toy/versions/" + "9" * 5000 + ":predict", b"{}", 404, "Malformed version"),
        ("/v1/models/toy/versions/2:predict", b"{}", 404, "Specific(toy, 2)"),
        ("/v1/models/toy/versions/x:classify", b"{}", 404, "Malformed version"),
        ("/v1/models/toy:predict", b'{"instances": [[1]]}', 400, "expected 3 values"),
        ("/v1/models/toy:predict", b"[" * 3000, 400, "not valid JSON"),
        ("/v1/models/toy:predict", b" " * 5000, 413, "exceeds the limit of 4096 bytes"),
        ("/v1/models/toy:explain", b"{}", 400, "unknown method :explain"),
        ("/v1/models/toy/other/1:predict", b"{}", 404, "no such endpoint"),
        ("/v2/models/toy/versions/x/infer", b"{}", 404, "Malformed version"),
        ("/v2/models/toy/infer", b'{"inputs": 3}', 400, '"inputs" list'),
    ],
)
def test_bad_requests_get_a_json_error_with_the_status_of_their_code(
    app: Any, path: str, body: bytes, status: int, message: str
) -> None:
    answer = _call(app, "POST", path, content=body)
    assert answer.status_code == status
    assert message in answer.json()["error"]
    assert "x-modelship-replica" in answer.headers
    # ...and the server keeps serving.
    ok = _call(app, "POST", "/v1/models/toy:predict", json={"instances": [ROW]})
    assert ok.status_code == 200


def test_a_runtime_failure_is_a_500_logged_once_and_the_next_request_is_served(
    app: Any, runtime: FakeRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    runtime.error = RuntimeError("boom")
    v2 = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3], "data": ROW}]}
    for path, body in (
        ("/v1/models/toy:predict", {"instances": [ROW]}),
        ("/v1/models/toy:classify", {"examples": [{"x": ROW}]}),
        ("/v2/models/toy/infer", v2),
    ):
        caplog.clear()
        answer = _call(app, "POST", path, json=body)
        assert answer.status_code == 500
        assert answer.json() == {"error": "internal error: RuntimeError: boom"}
        assert answer.headers["content-type"] == "application/json"
        assert "x-modelship-replica" in answer.headers
        # Answered, not re-raised: one traceback, and the server keeps the connection.
        assert [r.exc_info is not None for r in caplog.records] == [True]
    runtime.error = None
    assert _call(app, "POST", "/v1/models/toy:predict", json={"instances": [ROW]}).is_success


def test_status_metadata_and_classify(app: Any) -> None:
    status = _call(app, "GET", "/v1/models/toy").json()
    assert status == {
        "model_version_status": [
            {
                "version": "1",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }
    metadata = _call(app, "GET", "/v1/models/toy/metadata").json()
    signature = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["inputs"]["x"]["dtype"] == "DT_FLOAT"
    assert signature["inputs"]["x"]["tensor_shape"]["dim"][1] == {"size": "3", "name": ""}
    classified = _call(app, "POST", "/v1/models/toy:classify", json={"examples": [{"x": ROW}]})
    assert classified.headers["x-model-version"] == "1"
    assert classified.json() == {"results": [[["cat", 1.0], ["dog", 2.0], ["fox", 4.0]]]}


def test_open_inference_protocol_infer_and_metadata(app: Any) -> None:
    body = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": ROW}]}
    answer = _call(app, "POST", "/v2/models/toy/versions/1/infer", json=body).json()
    assert answer["model_version"] == "1"
    assert answer["outputs"] == [
        {"name": "probabilities", "datatype": "FP32", "shape": [1, 3], "data": [1.0, 2.0, 4.0]}
    ]
    metadata = _call(app, "GET", "/v2/models/toy").json()
    assert metadata["versions"] == ["1"]
    assert metadata["platform"] == "fake"
    assert metadata["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}]
