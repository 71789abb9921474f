"""Hostile input against a real ``modelship serve`` process, over REST V1, REST V2 and both gRPC
services: each case gets the right 4xx or gRPC status (never 500/INTERNAL), and afterwards the
server is alive, predicts exactly as before, logged no traceback and holds about the memory it
held before (a few bytes on the wire must not claim gigabytes). Its repository holds odd
directory names too, which must not stop it from serving."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import grpc
import httpx
import numpy as np
import psutil
import pytest

from modelship.protos import tfs_model_service_pb2 as ms
from modelship.protos import tfs_model_service_pb2_grpc as ms_grpc
from modelship.protos import tfs_prediction_service_pb2 as pb
from modelship.protos import tfs_prediction_service_pb2_grpc as pb_grpc
from modelship.protos import v2_grpc_service_pb2 as v2
from modelship.protos import v2_grpc_service_pb2_grpc as v2_grpc
from tests.conftest import RunningServer, ToyModel, start_server, stop_server
from tests.fixtures.toy_models import reference_softmax_linear


def _deep(depth: int, leaf: bytes) -> bytes:
    return b"[" * depth + leaf + b"]" * depth


V1 = "/v1/models/toy/versions/2:predict"
V2 = "/v2/models/toy/infer"
NAN = b', "n": NaN'  # sends a TF Serving body to the stdlib parser

# (method, path, body, extra headers, expected statuses)
REST_CASES: list[tuple[str, str, bytes, dict[str, bytes], set[int]]] = [
    ("POST", V1, b'{"instances": ' + _deep(100_000, b"") + NAN + b"}", {}, {400}),
    ("POST", V1, b'{"instances": [[' + b"9" * 400 + b"]]" + NAN + b"}", {}, {400}),
    ("POST", V1, b'{"instances": [[' + b"9" * 400 + b"]]}", {}, {400}),
    ("POST", V1, b'{"inputs": {"zz": ' + _deep(70, b'"a"') + b"}" + NAN + b"}", {}, {400}),
    ("POST", V1, b'{"inputs": {"zz": ' + _deep(1000, b'"a"') + b"}}", {}, {400}),
    ("POST", V1, b'{"inputs": {"zz": ' + _deep(1000, b'"a"') + b"}" + NAN + b"}", {}, {400}),
    ("POST", V1, b'{"instances": ["\\ud800"]' + NAN + b"}", {}, {400}),
    ("POST", V1, b'{"inputs": {"\\ud800": [1]}' + NAN + b"}", {}, {400}),
    ("POST", V1, b"[" * 3000, {}, {400}),
    (
        "POST",
        "/v1/models/toy:classify",
        b'{"examples": ' + _deep(100_000, b"") + NAN + b"}",
        {},
        {400},
    ),
    (
        "POST",
        "/v1/models/toy:classify",
        b'{"examples": [{"images": "\\ud800"}]' + NAN + b"}",
        {},
        {400},
    ),
    (
        "POST",
        "/v1/models/toy:regress",
        b'{"examples": [{"images": [' + b"9" * 400 + b"]}]" + NAN + b"}",
        {},
        {400},
    ),
    ("POST", "/v1/models/toy/versions/%C2%B2:predict", b"{}", {}, {404}),
    ("POST", "/v1/models/toy/versions/" + "9" * 5000 + ":predict", b"{}", {}, {404}),
    ("POST", "/v1/models/toy/versions/99999999999999999999:predict", b"{}", {}, {404}),
    ("GET", "/v1/models/toy/versions/%C2%B2", b"", {}, {404}),
    ("GET", "/v1/models/toy/versions/%C2%B2/metadata", b"", {}, {404}),
    ("GET", "/v2/models/toy/versions/%C2%B2", b"", {}, {404}),
    ("GET", "/v2/models/toy/versions/" + "9" * 5000 + "/ready", b"", {}, {404}),
    ("POST", V2, b'{"inputs": [], "parameters": []}', {}, {400}),
    ("POST", V2, b'{"inputs": [], "outputs": 3}', {}, {400}),
    ("POST", V2, b'{"inputs": [], "outputs": [{"name": "p", "parameters": []}]}', {}, {400}),
    (
        "POST",
        V2,
        b'{"inputs": [{"name": "images", "datatype": "UINT8", "shape": [1], "data": [256]}]}',
        {},
        {400},
    ),
    (
        "POST",
        V2,
        b'{"inputs": [{"name": "images", "datatype": "INT64", "shape": [1], '
        b'"data": [18446744073709551616]}]}',
        {},
        {400},
    ),
    (
        "POST",
        V2,
        b'{"inputs": [{"name": "images", "datatype": "FP32", "shape": [true, 1], "data": [1]}]}',
        {},
        {400},
    ),
    (
        "POST",
        V2,
        b'{"inputs": [{"name": "images", "datatype": "FP32", "shape": [4294967296, 4294967296], '
        b'"data": []}]}',
        {},
        {400, 413},
    ),
    (
        "POST",
        V2,
        b'{"inputs": [{"name": "images", "datatype": "FP32", "shape": '
        + b"[1"
        + b",1" * 99
        + b'], "data": [1]}]}',
        {},
        {400},
    ),
    ("POST", V2, b"{}", {"inference-header-content-length": "\u00b2".encode()}, {400}),
    (
        "POST",
        V2,
        b'{"inputs": [{"name": "images", "datatype": "BYTES", "shape": [1], "data": '
        + _deep(1000, b'"a"')
        + b"}]}",
        {},
        {400},
    ),
]


def _tfs_request(shape: list[int], values: list[float], version: int = 2) -> pb.PredictRequest:
    request = pb.PredictRequest()
    request.model_spec.name = "toy"
    request.model_spec.version.value = version
    tensor = request.inputs["images"]
    tensor.dtype = 1  # DT_FLOAT
    for size in shape:
        tensor.tensor_shape.dim.add(size=size)
    tensor.float_val.extend(values)
    return request


def _v2_request(shape: list[int], values: list[float], version: str = "") -> v2.ModelInferRequest:
    request = v2.ModelInferRequest(model_name="toy", model_version=version)
    tensor = request.inputs.add(name="images", datatype="FP32", shape=shape)
    tensor.contents.fp32_contents.extend(values)
    return request


GRPC_TFS_CASES: list[tuple[pb.PredictRequest, grpc.StatusCode]] = [
    # 42 bytes that TensorFlow's fill rule would expand to 784 MB and 250,000 rows.
    (_tfs_request([250_000, 784], [1.0]), grpc.StatusCode.RESOURCE_EXHAUSTED),
    (_tfs_request([2**40, 784], [1.0]), grpc.StatusCode.RESOURCE_EXHAUSTED),
    (_tfs_request([2**32, 2**32], [1.0]), grpc.StatusCode.RESOURCE_EXHAUSTED),
    (_tfs_request([1, 2**62], [1.0]), grpc.StatusCode.RESOURCE_EXHAUSTED),
    (_tfs_request([1] * 100, [1.0]), grpc.StatusCode.INVALID_ARGUMENT),
    (_tfs_request([1, 784], [1.0], version=2**63 - 1), grpc.StatusCode.NOT_FOUND),
    (_tfs_request([1, 784], [1.0], version=-5), grpc.StatusCode.NOT_FOUND),
]
GRPC_V2_CASES: list[tuple[v2.ModelInferRequest, grpc.StatusCode]] = [
    (_v2_request([2**32, 2**32], []), grpc.StatusCode.RESOURCE_EXHAUSTED),
    (_v2_request([1, 2**62], [1.0]), grpc.StatusCode.RESOURCE_EXHAUSTED),
    (_v2_request([1] * 100, [1.0]), grpc.StatusCode.INVALID_ARGUMENT),
    (_v2_request([1, 784], [1.0] * 784, version="\u00b2"), grpc.StatusCode.NOT_FOUND),
    (_v2_request([1, 784], [1.0] * 784, version="9" * 5000), grpc.StatusCode.NOT_FOUND),
    (_v2_request([1, 784], [1.0] * 784, version="99999999999999999999"), grpc.StatusCode.NOT_FOUND),
]


@pytest.fixture(scope="module")
def server(
    toy_model: ToyModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """``toy`` version 2, published zero-padded as ``0002``, beside odd directory names."""
    base = tmp_path_factory.mktemp("repo") / "toy"
    shutil.copytree(toy_model.base_path / "1", base / "0002")
    for odd in ("\u00b2", "99999999999999999999", "v3", "-1"):
        (base / odd).mkdir()
    args = ["--model_name", "toy", "--model_base_path", str(base)]
    running = start_server(args, "toy", tmp_path_factory.mktemp("hostile"))
    yield running
    stop_server(running)


def _rss(server: RunningServer) -> int:
    return int(psutil.Process(server.process.pid).memory_info().rss)


def _predict(server: RunningServer, client: httpx.Client, toy_model: ToyModel) -> np.ndarray:
    x = np.linspace(0, 1, 2 * 784, dtype=np.float32).reshape(2, 784)
    answer = client.post(f"{server.url}{V1}", json={"instances": x.tolist()})
    assert answer.status_code == 200, answer.text
    predictions = np.asarray(answer.json()["predictions"])
    expected = reference_softmax_linear(x, toy_model.weight, toy_model.bias)
    np.testing.assert_allclose(predictions, expected, atol=1e-5)
    return predictions


def test_hostile_input_gets_4xx_and_changes_nothing(
    server: RunningServer, toy_model: ToyModel
) -> None:
    with httpx.Client(timeout=60) as client:
        status = client.get(f"{server.url}/v1/models/toy").json()["model_version_status"]
        assert [v["version"] for v in status] == ["2"]  # from 0002; the odd names ignored
        before = _predict(server, client, toy_model)
        rss_before = _rss(server)
        for method, path, body, headers, expected in REST_CASES:
            answer = client.request(
                method, server.url + path, content=body or None, headers=headers
            )
            shown = (path[:60], body[:60])
            assert answer.status_code in expected, (shown, answer.status_code, answer.text[:200])
            assert answer.headers["content-type"] == "application/json", shown
            assert answer.json()["error"], shown
        with grpc.insecure_channel(server.grpc_target) as channel:
            predict = pb_grpc.PredictionServiceStub(channel).Predict
            for request, code in GRPC_TFS_CASES:
                with pytest.raises(grpc.RpcError) as caught:
                    predict(request, timeout=30)
                assert caught.value.code() == code, (
                    request.inputs["images"].tensor_shape,
                    caught.value,
                )
            status_request = ms.GetModelStatusRequest()
            status_request.model_spec.name = "toy"
            status_request.model_spec.version.value = -1
            with pytest.raises(grpc.RpcError) as caught:
                ms_grpc.ModelServiceStub(channel).GetModelStatus(status_request, timeout=30)
            assert caught.value.code() == grpc.StatusCode.NOT_FOUND
            infer = v2_grpc.GRPCInferenceServiceStub(channel).ModelInfer
            for v2_request, code in GRPC_V2_CASES:
                with pytest.raises(grpc.RpcError) as caught:
                    infer(v2_request, timeout=30)
                assert caught.value.code() == code, (v2_request.inputs[0].shape, caught.value)
            # Bytes that are no valid message: bad UTF-8 in model_spec.name, then in model_name.
            for method, raw in (
                ("/tensorflow.serving.PredictionService/Predict", b"\x0a\x04\x0a\x02\xff\xfe"),
                ("/inference.GRPCInferenceService/ModelInfer", b"\x0a\x02\xff\xfe"),
                ("/inference.GRPCInferenceService/ModelInfer", b"\x0a\x7f"),
            ):
                with pytest.raises(grpc.RpcError) as caught:
                    channel.unary_unary(method)(raw, timeout=30)
                assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value
        # Alive, unchanged, and no larger for it.
        np.testing.assert_array_equal(_predict(server, client, toy_model), before)
        assert _rss(server) <= 1.25 * rss_before, (_rss(server), rss_before)
    log = server.output()
    assert "Traceback" not in log
    assert "ignoring" in log
    assert "99999999999999999999" in log
