"""The Open Inference Protocol over gRPC, called with ``tritonclient.grpc``, unchanged."""

from __future__ import annotations

import grpc
import numpy as np
import pytest

from tests.conftest import RunningServer, ToyModel
from tests.fixtures.toy_models import reference_softmax_linear

grpcclient = pytest.importorskip("tritonclient.grpc")
service_pb2 = pytest.importorskip("tritonclient.grpc.service_pb2")
service_pb2_grpc = pytest.importorskip("tritonclient.grpc.service_pb2_grpc")
InferenceServerException = pytest.importorskip("tritonclient.utils").InferenceServerException


@pytest.fixture(scope="module")
def client(toy_server: RunningServer) -> grpcclient.InferenceServerClient:
    return grpcclient.InferenceServerClient(toy_server.grpc_target)


@pytest.fixture(scope="module")
def zoo_client(zoo: str) -> grpcclient.InferenceServerClient:
    return grpcclient.InferenceServerClient(zoo)


def infer_input(name: str, value: np.ndarray, datatype: str = "FP32") -> object:
    tensor = grpcclient.InferInput(name, list(value.shape), datatype)
    tensor.set_data_from_numpy(value)
    return tensor


def test_health_and_metadata(client: grpcclient.InferenceServerClient) -> None:
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("toy")
    assert client.is_model_ready("toy", "1")
    assert not client.is_model_ready("toy", "2")
    assert not client.is_model_ready("nope")
    assert client.get_server_metadata().name == "modelship"
    metadata = client.get_model_metadata("toy")
    assert metadata.name == "toy"
    assert list(metadata.versions) == ["1"]
    assert [(t.name, t.datatype, list(t.shape)) for t in metadata.inputs] == [
        ("images", "FP32", [-1, 784])
    ]
    assert [(t.name, t.datatype, list(t.shape)) for t in metadata.outputs] == [
        ("probabilities", "FP32", [-1, 10])
    ]


def test_infer_raw_contents(client: grpcclient.InferenceServerClient, toy_model: ToyModel) -> None:
    x = np.random.default_rng(5).random((3, 784), dtype=np.float32)
    result = client.infer(
        "toy",
        [infer_input("images", x)],
        outputs=[grpcclient.InferRequestedOutput("probabilities")],
        request_id="r-1",
    )
    expected = reference_softmax_linear(x, toy_model.weight, toy_model.bias)
    np.testing.assert_allclose(result.as_numpy("probabilities"), expected, atol=1e-5)
    response = result.get_response()
    assert (response.model_name, response.model_version, response.id) == ("toy", "1", "r-1")
    assert len(response.raw_output_contents) == 1


def test_infer_multi_input_with_version(zoo_client: grpcclient.InferenceServerClient) -> None:
    a = np.array([[1, 2, 3]], dtype=np.float32)
    b = np.array([[4, 5, 6]], dtype=np.float32)
    result = zoo_client.infer("pair", [infer_input("a", a), infer_input("b", b)], model_version="3")
    np.testing.assert_array_equal(result.as_numpy("sum"), a + b)
    np.testing.assert_array_equal(result.as_numpy("product"), a * b)


def test_infer_typed_contents(toy_server: RunningServer, toy_model: ToyModel) -> None:
    x = np.random.default_rng(6).random((2, 784), dtype=np.float32)
    request = service_pb2.ModelInferRequest(model_name="toy")
    tensor = request.inputs.add(name="images", datatype="FP32", shape=[2, 784])
    tensor.contents.fp32_contents.extend(x.ravel().tolist())
    with grpc.insecure_channel(toy_server.grpc_target) as channel:
        stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
        response = stub.ModelInfer(request, timeout=10)
    assert not response.raw_output_contents
    output = response.outputs[0]
    assert (output.name, output.datatype, list(output.shape)) == ("probabilities", "FP32", [2, 10])
    got = np.array(output.contents.fp32_contents).reshape(2, 10)
    np.testing.assert_allclose(
        got, reference_softmax_linear(x, toy_model.weight, toy_model.bias), atol=1e-5
    )


@pytest.mark.parametrize(
    ("model", "inputs", "code", "words"),
    [
        (
            "toy",
            lambda: [infer_input("images", np.ones((1, 784), np.float64), "FP64")],
            "INVALID_ARGUMENT",
            "FP64",
        ),
        ("toy", lambda: [infer_input("images", np.ones((1, 784), np.float16), "FP16")], None, None),
        (
            "toy",
            lambda: [infer_input("images", np.array([[b"x"] * 784], dtype=object), "BYTES")],
            "INVALID_ARGUMENT",
            "images",
        ),
        (
            "toy",
            lambda: [infer_input("images", np.ones((1, 10), np.float32))],
            "INVALID_ARGUMENT",
            "784",
        ),
        (
            "toy",
            lambda: [infer_input("pixels", np.ones((1, 784), np.float32))],
            "INVALID_ARGUMENT",
            "missing",
        ),
        (
            "nope",
            lambda: [infer_input("images", np.ones((1, 784), np.float32))],
            "NOT_FOUND",
            "nope",
        ),
    ],
    ids=[
        "fp64-is-narrowing",
        "fp16-widens",
        "wrong-dtype",
        "wrong-shape",
        "missing-input",
        "unknown-model",
    ],
)
def test_bad_inference_requests(
    client: grpcclient.InferenceServerClient,
    model: str,
    inputs: object,
    code: str | None,
    words: str | None,
) -> None:
    if code is None:
        # A wider float type than the signature's is cast, as the REST API does.
        assert client.infer(model, inputs()).as_numpy("probabilities").shape == (1, 10)
        return
    with pytest.raises(InferenceServerException) as info:
        client.infer(model, inputs())
    assert info.value.status() == f"StatusCode.{code}"
    assert words in info.value.message()
    assert client.infer("toy", [infer_input("images", np.zeros((1, 784), np.float32))]).as_numpy(
        "probabilities"
    ).shape == (1, 10)


def test_unknown_version_and_output(client: grpcclient.InferenceServerClient) -> None:
    images = [infer_input("images", np.zeros((1, 784), np.float32))]
    with pytest.raises(InferenceServerException) as info:
        client.infer("toy", images, model_version="4")
    assert info.value.status() == "StatusCode.NOT_FOUND"
    assert info.value.message() == "Request for unknown model: 'toy' version 4 is not found"
    with pytest.raises(InferenceServerException) as info:
        client.get_model_metadata("absent")
    assert info.value.message() == "Request for unknown model: 'absent' is not found"
    with pytest.raises(InferenceServerException) as info:
        client.infer("toy", images, outputs=[grpcclient.InferRequestedOutput("logits")])
    assert info.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert "logits" in info.value.message()


@pytest.mark.parametrize("algorithm", ["gzip", "deflate"])
def test_compressed_calls(client: grpcclient.InferenceServerClient, algorithm: str) -> None:
    images = [infer_input("images", np.zeros((2, 784), np.float32))]
    result = client.infer("toy", images, compression_algorithm=algorithm)
    assert result.as_numpy("probabilities").shape == (2, 10)
