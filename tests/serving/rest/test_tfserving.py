"""TF Serving's REST routes in process, without the predict fast path in front: status,
metadata, predict, classify and regress, addressed by name, version and label."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from modelship.errors import ModelshipError
from modelship.registry import Registry
from modelship.serving.dataplane import DataPlane
from modelship.serving.executor import ThreadExecutor
from modelship.serving.inference import ModelSpec
from modelship.serving.metrics import Metrics
from modelship.serving.rest.errors import handle_modelship_error
from modelship.serving.rest.tfserving import predict, tf_serving_routes
from modelship.signature import REGRESS_METHOD, Signature, TensorSpec
from tests.fixtures.fake_runtime import FakeRuntime, serve_fake

ROW = [0.5, 1.0, 2.0]
ONE_VALUE = Signature(
    inputs={"x": TensorSpec("float32", (-1, 1))},
    outputs={"probabilities": TensorSpec("float32", (-1, 1))},
    method_name=REGRESS_METHOD,
)


@pytest.fixture
def dataplane() -> Iterator[DataPlane]:
    """``toy`` versions 1 and 2 (labels ``stable`` -> 1, ``canary`` -> 2) and ``reg``, whose
    one output holds one value per example."""
    registry = Registry()
    serve_fake(registry, FakeRuntime(), version=1, labels=("cat", "dog", "fox"))
    serve_fake(registry, FakeRuntime(), version=2, labels=("cat", "dog", "fox"))
    registry.model("toy").labels.update(stable=1, canary=2)
    serve_fake(registry, FakeRuntime(signatures={"serving_default": ONE_VALUE}), model="reg")
    executor = ThreadExecutor(threads=1)
    yield DataPlane(registry, executor, Metrics(registry))
    executor.close()


@pytest.fixture
def app(dataplane: DataPlane) -> Starlette:
    return Starlette(
        routes=tf_serving_routes(dataplane, max_body_bytes=1000),
        exception_handlers={ModelshipError: handle_modelship_error},
    )


def _call(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://modelship") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(send())


def _status(version: str) -> dict[str, Any]:
    return {
        "version": version,
        "state": "AVAILABLE",
        "status": {"error_code": "OK", "error_message": ""},
    }


def test_status_lists_every_version_newest_first_or_the_one_addressed(app: Starlette) -> None:
    assert _call(app, "GET", "/v1/models/toy").json() == {
        "model_version_status": [_status("2"), _status("1")]
    }
    for path in ("/v1/models/toy/versions/1", "/v1/models/toy/labels/stable"):
        assert _call(app, "GET", path).json() == {"model_version_status": [_status("1")]}


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/v1/models/ghost", 404, "Servable not found for request: Latest(ghost)"),
        ("/v1/models/toy/versions/7", 404, "Could not find version 7 of model toy"),
        ("/v1/models/toy/versions/-1", 404, "Malformed version '-1'"),
        ("/v1/models/toy/labels/nope", 404, "Unrecognized servable version label: nope"),
    ],
)
def test_status_of_what_is_not_there_is_not_found(
    app: Starlette, path: str, status: int, message: str
) -> None:
    answer = _call(app, "GET", path)
    assert answer.status_code == status
    assert message in answer.json()["error"]


@pytest.mark.parametrize(
    ("path", "version"),
    [
        ("/v1/models/toy/metadata", "2"),
        ("/v1/models/toy/versions/1/metadata", "1"),
        ("/v1/models/toy/labels/stable/metadata", "1"),
    ],
)
def test_metadata_names_the_version_its_signatures_and_labels(
    app: Starlette, path: str, version: str
) -> None:
    answer = _call(app, "GET", path).json()
    assert answer["model_spec"] == {"name": "toy", "signature_name": "", "version": version}
    signature = answer["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["method_name"] == "tensorflow/serving/predict"
    assert signature["inputs"]["x"]["dtype"] == "DT_FLOAT"
    assert signature["outputs"]["probabilities"]["tensor_shape"]["dim"][1]["size"] == "3"
    assert answer["metadata"]["modelship"]["labels"] == ["cat", "dog", "fox"]
    assert answer["metadata"]["modelship"]["framework"] == "fake"


@pytest.mark.parametrize(
    ("path", "version"),
    [
        ("/v1/models/toy:predict", "2"),
        ("/v1/models/toy/versions/1:predict", "1"),
        ("/v1/models/toy/labels/canary:predict", "2"),
    ],
)
def test_predict_answers_with_the_version_that_computed_it(
    app: Starlette, path: str, version: str
) -> None:
    answer = _call(app, "POST", path, json={"instances": [ROW, ROW]})
    assert answer.status_code == 200
    assert answer.headers["x-model-version"] == version
    assert answer.json() == {"predictions": [[1.0, 2.0, 4.0], [1.0, 2.0, 4.0]]}


def test_predict_keeps_the_columnar_format_and_adds_top_k(app: Starlette) -> None:
    body = {"inputs": {"x": [ROW]}, "parameters": {"top_k": 2}}
    assert _call(app, "POST", "/v1/models/toy:predict", json=body).json() == {
        "outputs": {
            "probabilities": [[1.0, 2.0, 4.0]],
            "classes": [["fox", "dog"]],
            "scores": [[4.0, 2.0]],
        }
    }


def test_classify_pairs_each_score_with_its_label(app: Starlette) -> None:
    body = {"examples": [{"x": ROW}, {"x": [0, 0, 1]}]}
    answer = _call(app, "POST", "/v1/models/toy/versions/1:classify", json=body)
    assert answer.headers["x-model-version"] == "1"
    assert answer.json() == {
        "results": [
            [["cat", 1.0], ["dog", 2.0], ["fox", 4.0]],
            [["cat", 0.0], ["dog", 0.0], ["fox", 2.0]],
        ]
    }


def test_regress_answers_one_value_per_example(app: Starlette) -> None:
    body = {"context": {"x": [1.0]}, "examples": [{}, {"x": [2.5]}]}
    answer = _call(app, "POST", "/v1/models/reg:regress", json=body)
    assert answer.headers["x-model-version"] == "1"
    assert answer.json() == {"results": [2.0, 5.0]}


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/v1/models/toy:explain", b"{}", 400, "unknown method :explain; use :predict"),
        ("/v1/models/toy:predict", b'{"signature_name": 3}', 400, '"signature_name" must be'),
        ("/v1/models/toy:classify", b'{"signature_name": [], "examples": []}', 400, "must be"),
        ("/v1/models/toy:predict", b'{"signature_name": "nope", "instances": [[1, 2, 3]]}', 400,
         'Serving signature name: "nope" not found'),
        ("/v1/models/toy:classify", b'{"examples": []}', 400, '"examples" must be a non-empty'),
        ("/v1/models/toy:regress", b'{"examples": [{"x": [1, 2, 3]}]}', 400,
         "regress needs one value per example"),
        ("/v1/models/toy:predict", b"x" * 1001, 413, "exceeds the limit of 1000 bytes"),
        ("/v1/models/toy/versions/0:predict", b"{}", 404, "Malformed version"),
        ("/v1/models/ghost:classify", b"{}", 404, "Latest(ghost)"),
    ],
)  # fmt: skip
def test_bad_requests_are_answered_with_the_status_of_their_code(
    app: Starlette, path: str, body: bytes, status: int, message: str
) -> None:
    answer = _call(app, "POST", path, content=body)
    assert answer.status_code == status
    assert message in answer.json()["error"]


def test_predict_reads_the_body_only_once_the_version_is_resolved(dataplane: DataPlane) -> None:
    reads: list[str] = []

    async def read() -> bytes:
        reads.append("read")
        return b'{"instances": [[1, 1, 1]]}'

    with pytest.raises(ModelshipError, match="Latest\\(ghost\\)"):
        asyncio.run(predict(dataplane, ModelSpec("ghost"), read, None))
    assert reads == []
    answer, version = asyncio.run(predict(dataplane, ModelSpec("toy", version=1), read, None))
    assert (answer, version) == (b'{"predictions":[[2.0,2.0,2.0]]}', 1)
    assert reads == ["read"]
