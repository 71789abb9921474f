"""The Open Inference Protocol over REST, checked with Triton's HTTP client and raw bodies."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from tests.conftest import RunningServer, ToyModel, start_server, stop_server
from tests.fixtures.toy_models import reference_softmax_linear


@pytest.fixture(scope="module")
def v2_server(
    toy_model: ToyModel, pair_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("v2")
    config = tmp / "models.config"
    config.write_text(
        "model_config_list {\n"
        f"  config {{ name: 'toy' base_path: '{toy_model.base_path}' model_platform: 'onnx' }}\n"
        f"  config {{ name: 'pair' base_path: '{pair_model}' model_platform: 'onnx' }}\n"
        "}\n"
    )
    server = start_server(["--model_config_file", str(config)], "pair", tmp)
    yield server
    stop_server(server)


@pytest.fixture
def client(v2_server: RunningServer) -> Iterator[triton.InferenceServerClient]:
    client = triton.InferenceServerClient(v2_server.url.removeprefix("http://"))
    yield client
    client.close()


def test_health_and_server_metadata(client: triton.InferenceServerClient) -> None:
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("toy")
    assert client.is_model_ready("pair", "3")
    assert not client.is_model_ready("pair", "4")
    assert not client.is_model_ready("absent")
    metadata = client.get_server_metadata()
    assert metadata["name"] == "modelship"
    assert "binary_tensor_data" in metadata["extensions"]


def test_model_metadata_lists_tensors_with_variable_dims(
    client: triton.InferenceServerClient,
) -> None:
    metadata = client.get_model_metadata("pair")
    assert metadata["name"] == "pair"
    assert metadata["versions"] == ["3"]
    assert metadata["inputs"] == [
        {"name": "a", "datatype": "FP32", "shape": [-1, 3]},
        {"name": "b", "datatype": "FP32", "shape": [-1, 3]},
    ]
    assert [o["name"] for o in metadata["outputs"]] == ["sum", "product"]


@pytest.mark.parametrize("binary", [False, True])
def test_infer_with_and_without_binary_tensors(
    client: triton.InferenceServerClient, toy_model: ToyModel, binary: bool
) -> None:
    x = np.random.default_rng(1).random((5, 784), dtype=np.float32)
    tensor = triton.InferInput("images", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x, binary_data=binary)
    wanted = [triton.InferRequestedOutput("probabilities", binary_data=binary)]
    result = client.infer("toy", [tensor], outputs=wanted, request_id="req-1")
    got = result.as_numpy("probabilities")
    np.testing.assert_allclose(
        got, reference_softmax_linear(x, toy_model.weight, toy_model.bias), atol=1e-5
    )
    response = result.get_response()
    assert response["model_name"] == "toy"
    assert response["model_version"] == "1"
    assert response["id"] == "req-1"


def test_infer_two_inputs_selecting_one_output(client: triton.InferenceServerClient) -> None:
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.full((2, 3), 2, dtype=np.float32)
    inputs = [triton.InferInput("a", [2, 3], "FP32"), triton.InferInput("b", [2, 3], "FP32")]
    inputs[0].set_data_from_numpy(a, binary_data=True)
    inputs[1].set_data_from_numpy(b, binary_data=False)
    result = client.infer(
        "pair", inputs, model_version="3", outputs=[triton.InferRequestedOutput("product")]
    )
    np.testing.assert_allclose(result.as_numpy("product"), a * b)
    assert result.as_numpy("sum") is None


def test_errors_are_json_with_4xx(
    client: triton.InferenceServerClient, v2_server: RunningServer
) -> None:
    wrong = triton.InferInput("images", [1, 10], "FP32")
    wrong.set_data_from_numpy(np.zeros((1, 10), dtype=np.float32))
    with pytest.raises(InferenceServerException, match="784"):
        client.infer("toy", [wrong])
    answer = httpx.post(f"{v2_server.url}/v2/models/absent/infer", json={"inputs": []})
    assert answer.status_code == 404
    assert answer.json() == {"error": "Request for unknown model: 'absent' is not found"}


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/v2/models/absent", "Request for unknown model: 'absent' is not found"),
        ("/v2/models/pair/versions/9", "Request for unknown model: 'pair' version 9 is not found"),
        ("/v1/models/absent", "Servable not found for request: Latest(absent)"),
    ],
)
def test_unknown_models_in_each_protocols_words(
    v2_server: RunningServer, path: str, message: str
) -> None:
    answer = httpx.get(v2_server.url + path)
    assert (answer.status_code, answer.json()) == (404, {"error": message})


def test_health_answers_carry_a_json_body(v2_server: RunningServer) -> None:
    for path, body in (
        ("/v2/health/live", {"live": True}),
        ("/v2/health/ready", {"ready": True}),
        ("/v2/models/pair/ready", {"ready": True}),
    ):
        answer = httpx.get(v2_server.url + path)
        assert (answer.status_code, answer.json()) == (200, body), path
    answer = httpx.get(v2_server.url + "/v2/models/absent/ready")
    assert (answer.status_code, answer.json()) == (400, {"ready": False})


def _binary_body(header: dict[str, object], data: bytes) -> tuple[bytes, dict[str, str]]:
    head = json.dumps(header).encode()
    return head + data, {"Inference-Header-Content-Length": str(len(head))}


def test_declared_binary_sizes_must_match_the_body(v2_server: RunningServer) -> None:
    a = np.ones((1, 3), dtype=np.float32).tobytes()
    tensor = {"name": "a", "shape": [1, 3], "datatype": "FP32"}
    b = {**tensor, "name": "b", "data": [1, 2, 3]}
    url = f"{v2_server.url}/v2/models/pair/infer"
    for size, data in ((12, a + b"\0\0\0\0"), (16, a), (8, a[:8])):
        body, headers = _binary_body(
            {"inputs": [{**tensor, "parameters": {"binary_data_size": size}}, b]}, data
        )
        answer = httpx.post(url, content=body, headers=headers)
        assert answer.status_code == 400, (size, answer.text)
        assert "binary" in answer.json()["error"]
    body, headers = _binary_body(
        {"inputs": [{**tensor, "parameters": {"binary_data_size": 12}}, b]}, a
    )
    answer = httpx.post(url, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outputs"][0]["data"] == [2.0, 3.0, 4.0]


@pytest.mark.parametrize("algorithm", ["gzip", "deflate"])
def test_compressed_requests_from_tritons_client(
    client: triton.InferenceServerClient, algorithm: str
) -> None:
    a = np.array([[1, 2, 3]], dtype=np.float32)
    inputs = []
    for name in ("a", "b"):
        tensor = triton.InferInput(name, [1, 3], "FP32")
        tensor.set_data_from_numpy(a)
        inputs.append(tensor)
    result = client.infer(
        "pair",
        inputs,
        request_compression_algorithm=algorithm,
        response_compression_algorithm="gzip",
    )
    np.testing.assert_array_equal(result.as_numpy("sum"), a + a)


def test_a_gzip_body_is_limited_by_its_inflated_size(toy_server: RunningServer) -> None:
    # toy_server allows 200 000 bytes; 100 instances of 784 zeros inflate to twice that.
    instances = {"instances": [[0.0] * 784] * 100}
    bomb = gzip.compress(json.dumps(instances).encode(), compresslevel=9)
    assert len(bomb) < 2_000
    for path in ("/v1/models/toy:predict", "/v2/models/toy/infer"):
        answer = httpx.post(
            toy_server.url + path, content=bomb, headers={"Content-Encoding": "gzip"}
        )
        assert answer.status_code == 413, answer.text
        assert "inflated" in answer.json()["error"]
    small = gzip.compress(json.dumps({"instances": [[0.0] * 784]}).encode())
    answer = httpx.post(
        toy_server.url + "/v1/models/toy:predict",
        content=small,
        headers={"Content-Encoding": "gzip"},
    )
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["predictions"][0]) == 10
