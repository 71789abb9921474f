"""TF Serving's REST API against a real ``modelship serve`` process."""

from __future__ import annotations

import httpx
import numpy as np
import orjson
import pytest

from tests.conftest import RunningServer, ToyModel, start_server
from tests.fixtures.toy_models import reference_softmax_linear, softmax_linear, write_version


def post(server: RunningServer, path: str, content: bytes) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", content=content, timeout=10)


def test_status_lists_every_version(toy_server: RunningServer) -> None:
    answer = httpx.get(f"{toy_server.url}/v1/models/toy").json()
    assert answer["model_version_status"][0]["version"] == "1"
    assert answer["model_version_status"][0]["state"] == "AVAILABLE"
    one = httpx.get(f"{toy_server.url}/v1/models/toy/versions/1").json()
    assert one == answer


def test_predict_row_and_columnar_match_reference(
    toy_server: RunningServer, toy_model: ToyModel
) -> None:
    x = np.random.default_rng(1).random((5, 784), dtype=np.float32)
    expected = reference_softmax_linear(x, toy_model.weight, toy_model.bias)
    rows = post(toy_server, "/v1/models/toy:predict", orjson.dumps({"instances": x.tolist()}))
    assert rows.status_code == 200
    np.testing.assert_allclose(rows.json()["predictions"], expected, atol=1e-5)
    cols = post(
        toy_server,
        "/v1/models/toy/versions/1:predict",
        orjson.dumps(
            {"signature_name": "serving_default", "inputs": x.reshape(5, 28, 28).tolist()}
        ),
    )
    assert cols.status_code == 200
    np.testing.assert_allclose(cols.json()["outputs"], expected, atol=1e-5)
    assert rows.headers["x-model-version"] == "1"
    assert rows.headers["x-modelship-replica"]


def test_metadata_has_signature_def_and_labels(toy_server: RunningServer) -> None:
    answer = httpx.get(f"{toy_server.url}/v1/models/toy/versions/1/metadata").json()
    signature = answer["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["outputs"]["probabilities"]["tensor_shape"]["dim"][1]["size"] == "10"
    assert answer["metadata"]["modelship"]["labels"][3] == "class3"


def test_openapi_document(toy_server: RunningServer) -> None:
    spec = httpx.get(f"{toy_server.url}/openapi.json").json()
    assert "/v1/models/{model}:predict" in spec["paths"]
    assert httpx.get(f"{toy_server.url}/docs").status_code == 200


ROW = [0.5] * 784
BAD_REQUESTS = [
    ("/v1/models/toy:predict", b"this is not json", 400, "not valid JSON"),
    ("/v1/models/toy:predict", b"[1, 2, 3]", 400, "JSON object"),
    (
        "/v1/models/toy:predict",
        orjson.dumps({"instances": [ROW], "inputs": [ROW]}),
        400,
        "not both",
    ),
    ("/v1/models/toy:predict", b"{}", 400, "missing"),
    (
        "/v1/models/toy:predict",
        orjson.dumps({"instances": [[0.5] * 28]}),
        400,
        "expected 784 values per instance, got 28",
    ),
    ("/v1/models/toy:predict", orjson.dumps({"instances": [ROW, ROW[:10]]}), 400, "ragged"),
    ("/v1/models/toy:predict", orjson.dumps({"instances": [["a"] * 784]}), 400, "numbers"),
    ("/v1/models/toy:predict", orjson.dumps({"instances": []}), 400, "empty"),
    ("/v1/models/nope:predict", orjson.dumps({"instances": [ROW]}), 404, "nope"),
    ("/v1/models/toy/versions/99:predict", orjson.dumps({"instances": [ROW]}), 404, "99"),
    (
        "/v1/models/toy/versions/x:predict",
        orjson.dumps({"instances": [ROW]}),
        404,
        "versions are positive integers",
    ),
    ("/v1/models/toy/labels/stable:predict", orjson.dumps({"instances": [ROW]}), 404, "stable"),
    (
        "/v1/models/toy:predict",
        orjson.dumps({"signature_name": "other", "instances": [ROW]}),
        400,
        "other",
    ),
    ("/v1/models/toy:predict", orjson.dumps({"instances": [ROW] * 100}), 413, "exceeds the limit"),
    ("/v1/models/toy:explode", orjson.dumps({"instances": [ROW]}), 400, "unknown method"),
    (
        "/v1/models/toy:classify",
        orjson.dumps({"examples": [{"pixels": ROW}]}),
        400,
        "lacks feature",
    ),
    ("/v1/models/toy:classify", orjson.dumps({"examples": []}), 400, "non-empty"),
    ("/v1/models/toy:regress", orjson.dumps({"examples": [{"images": ROW}]}), 400, "regress needs"),
]


@pytest.mark.parametrize(("path", "body", "status", "fragment"), BAD_REQUESTS)
def test_bad_input_gets_a_clear_error_and_the_server_keeps_serving(
    toy_server: RunningServer, path: str, body: bytes, status: int, fragment: str
) -> None:
    answer = post(toy_server, path, body)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert fragment in answer.json()["error"]
    after = post(toy_server, "/v1/models/toy:predict", orjson.dumps({"instances": [ROW]}))
    assert after.status_code == 200
    assert len(after.json()["predictions"][0]) == 10


def test_unknown_path_and_method_answer_json(toy_server: RunningServer) -> None:
    missing = httpx.get(f"{toy_server.url}/v2/nothing/here")
    assert missing.status_code == 404
    assert "error" in missing.json()
    wrong = httpx.delete(f"{toy_server.url}/v1/models/toy")
    assert wrong.status_code == 405
    assert "error" in wrong.json()


def test_broken_model_makes_serve_exit_with_a_message(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    base = tmp_path_factory.mktemp("broken") / "broken"
    path = write_version(base, 1, softmax_linear(4, 2)[0])
    (path / "model.onnx").write_bytes(b"definitely not onnx")
    with pytest.raises(RuntimeError, match="cannot serve broken version 1") as info:
        start_server(["--model_name", "broken", "--model_base_path", str(base)], "broken", base)
    assert "Traceback" not in str(info.value)


def test_empty_base_path_makes_serve_exit_with_a_message(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    base = tmp_path_factory.mktemp("empty")
    with pytest.raises(RuntimeError, match="no model version found") as info:
        start_server(["--model_name", "empty", "--model_base_path", str(base)], "empty", base)
    assert "Traceback" not in str(info.value)


def test_classify_answers_labels_and_scores(toy_server: RunningServer, toy_model: ToyModel) -> None:
    x = np.random.default_rng(3).random((2, 784), dtype=np.float32)
    body = {"examples": [{"images": x[0].tolist()}, {"images": x[1].tolist()}]}
    answer = post(toy_server, "/v1/models/toy:classify", orjson.dumps(body))
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    expected = reference_softmax_linear(x, toy_model.weight, toy_model.bias)
    assert [label for label, _ in results[0]] == [f"class{i}" for i in range(10)]
    np.testing.assert_allclose([[s for _, s in row] for row in results], expected, atol=1e-5)
