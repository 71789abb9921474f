"""End to end, on a real server with batching on: what a user's own model declares is enforced
for every protocol (integer inputs, declared datatypes, fixed batch sizes, the runtime's own
refusals answer 400 / INVALID_ARGUMENT), and one broken model does not stop the others."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
import tensorflow_serving.apis.predict_pb2 as predict_pb2
import tensorflow_serving.apis.prediction_service_pb2_grpc as prediction_service_pb2_grpc
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

from tests.conftest import RunningServer, start_server, stop_server
from tests.fixtures.toy_models import embedding_lookup, two_in_two_out, write_version

grpcclient = pytest.importorskip("tritonclient.grpc")
InferenceServerException = pytest.importorskip("tritonclient.utils").InferenceServerException
torch = pytest.importorskip("torch")


class _Fixed(torch.nn.Module):  # type: ignore[misc]
    def forward(self, x: Any) -> Any:
        return x * 2


def _config(base: Path) -> str:
    configs = "".join(
        f"config {{ name: '{name}' base_path: '{base / name}' }}\n"
        for name in ("ids", "fixed", "fixed_torch", "broken")
    )
    return f"model_config_list {{\n{configs}}}\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    base = tmp_path_factory.mktemp("contracts")
    write_version(base / "ids", 1, embedding_lookup())
    write_version(base / "fixed", 1, two_in_two_out(batch=1))
    # torch.export without dynamic shapes: the program's guards take a batch of 1 only.
    program = torch.export.export(_Fixed(), (torch.zeros(1, 3),))
    (base / "fixed_torch" / "1").mkdir(parents=True)
    torch.export.save(program, str(base / "fixed_torch" / "1" / "model.pt2"))
    (base / "broken" / "1").mkdir(parents=True)
    (base / "broken" / "1" / "model.onnx").write_bytes(b"not an onnx graph")
    (base / "models.config").write_text(_config(base))
    server = start_server(
        [
            "--model_config_file",
            str(base / "models.config"),
            "--enable_batching",
            "--file_system_poll_wait_seconds",
            "0",
        ],
        "fixed",
        base,
    )
    yield server
    stop_server(server)


def _tfs(server: RunningServer, model: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/models/{model}:predict", json=body, timeout=30)


def _v2(server: RunningServer, model: str, *inputs: dict[str, Any]) -> httpx.Response:
    body = {"inputs": list(inputs)}
    return httpx.post(f"{server.url}/v2/models/{model}/infer", json=body, timeout=30)


def _grpc_v2(server: RunningServer, model: str, datatype: str, **inputs: np.ndarray) -> Any:
    tensors = []
    for name, value in inputs.items():
        tensors.append(grpcclient.InferInput(name, list(value.shape), datatype))
        tensors[-1].set_data_from_numpy(value)
    return grpcclient.InferenceServerClient(server.grpc_target).infer(model, tensors)


def _tfs_grpc(server: RunningServer, model: str, name: str, proto: Any) -> Any:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.inputs[name].CopyFrom(proto)
    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        return stub.Predict(request, timeout=30)


def _proto(values: list[float], dtype: int, field: str) -> Any:
    shape = tensor_shape_pb2.TensorShapeProto(
        dim=[
            tensor_shape_pb2.TensorShapeProto.Dim(size=1),
            tensor_shape_pb2.TensorShapeProto.Dim(size=len(values)),
        ]
    )
    proto = tensor_pb2.TensorProto(dtype=dtype, tensor_shape=shape)
    getattr(proto, field).extend(values)
    return proto


def _refused(response: httpx.Response, *words: str) -> None:
    assert response.status_code == 400, response.text
    message = response.json()["error"]
    for word in words:
        assert word in message


def test_integer_inputs_answer_exactly_and_refuse_fractions(server: RunningServer) -> None:
    answer = _tfs(server, "ids", {"instances": [[1, 2, 9]]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [[[2, 3], [4, 5], [18, 19]]]
    _refused(_tfs(server, "ids", {"instances": [[1, 2, 3.5]]}), "ids", "3.5")
    v2 = {"name": "ids", "datatype": "INT64", "shape": [1, 3], "data": [1, 2, 3.5]}
    _refused(_v2(server, "ids", v2), "3.5")
    with pytest.raises(grpc.RpcError) as refused:
        _tfs_grpc(server, "ids", "ids", _proto([1.0, 2.0, 3.5], types_pb2.DT_FLOAT, "float_val"))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "3.5" in str(refused.value.details())
    # Whole floats over TF Serving's gRPC API are cast, as TF Serving's JSON numbers are.
    cast = _tfs_grpc(server, "ids", "ids", _proto([1.0, 2.0, 3.0], types_pb2.DT_FLOAT, "float_val"))
    assert list(cast.outputs["vectors"].float_val) == [2, 3, 4, 5, 6, 7]


def test_a_declared_datatype_must_match_or_widen(server: RunningServer) -> None:
    floats = {"name": "ids", "datatype": "FP32", "shape": [1, 3], "data": [1, 2, 3]}
    _refused(_v2(server, "ids", floats), "INT64", "FP32")
    with pytest.raises(InferenceServerException, match=r"INVALID_ARGUMENT.*INT64.*FP32"):
        _grpc_v2(server, "ids", "FP32", ids=np.ones((1, 3), np.float32))
    narrower = {"name": "ids", "datatype": "INT32", "shape": [1, 3], "data": [1, 2, 3]}
    answer = _v2(server, "ids", narrower)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outputs"][0]["data"] == [2, 3, 4, 5, 6, 7]
    widened = _grpc_v2(server, "ids", "INT32", ids=np.array([[0, 1, 2]], np.int32))
    assert widened.as_numpy("vectors").reshape(-1).tolist() == [0, 1, 2, 3, 4, 5]


def test_ids_past_the_table_are_the_runtimes_refusal_not_a_server_error(
    server: RunningServer,
) -> None:
    _refused(_tfs(server, "ids", {"instances": [[1, 2, 30]]}), "idx=30", "[-10,9]")
    with pytest.raises(InferenceServerException, match=r"INVALID_ARGUMENT.*idx=30"):
        _grpc_v2(server, "ids", "INT64", ids=np.array([[1, 2, 30]], np.int64))
    assert _tfs(server, "ids", {"instances": [[0, 0, 0]]}).status_code == 200


@pytest.mark.parametrize("model", ["fixed", "fixed_torch"])
def test_a_fixed_batch_is_reported_and_enforced(server: RunningServer, model: str) -> None:
    meta = httpx.get(f"{server.url}/v1/models/{model}/metadata", timeout=10).json()
    assert meta["metadata"]["modelship"]["fixed_batch_size"] == {"serving_default": 1}
    v2_meta = httpx.get(f"{server.url}/v2/models/{model}", timeout=10).json()
    assert all(t["shape"][0] == 1 for t in v2_meta["inputs"])
    if model == "fixed_torch":  # read from the exported program: no modelship.json
        assert v2_meta["outputs"] == [{"name": "output_0", "datatype": "FP32", "shape": [1, 3]}]
    rows = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    inputs = {"x": rows} if model == "fixed_torch" else {"a": rows, "b": rows}
    _refused(_tfs(server, model, {"inputs": inputs}), "fixed batch of 1", "got 2")
    with pytest.raises(InferenceServerException, match=r"INVALID_ARGUMENT.*fixed batch of 1"):
        _grpc_v2(server, model, "FP32", **dict.fromkeys(inputs, np.ones((2, 3), np.float32)))


def test_concurrent_one_row_requests_to_a_fixed_batch_model_are_never_merged(
    server: RunningServer,
) -> None:
    def call(i: int) -> list[list[float]]:
        rows = [[float(i), 1.0, 2.0]]
        answer = _tfs(server, "fixed", {"instances": [{"a": rows[0], "b": rows[0]}]})
        assert answer.status_code == 200, answer.text
        return answer.json()["predictions"][0]["sum"]

    with ThreadPoolExecutor(8) as pool:
        sums = list(pool.map(call, range(32)))
    assert sums == [[2.0 * i, 2.0, 4.0] for i in range(32)]
    torch_rows = [[float(i), 0.5, 1.0] for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda r: _tfs(server, "fixed_torch", {"instances": [r]}), torch_rows)
        )
    assert [a.json()["predictions"][0] for a in answers] == [[2 * v for v in r] for r in torch_rows]


def test_a_broken_model_is_reported_and_the_others_serve(server: RunningServer) -> None:
    status = httpx.get(f"{server.url}/v1/models/broken", timeout=10).json()
    (version,) = status["model_version_status"]
    assert version["state"] == "END"
    assert "cannot load" in version["status"]["error_message"]
    assert "cannot serve broken version 1" in server.output()
    assert httpx.get(f"{server.url}/v2/health/ready", timeout=10).status_code == 200
    assert httpx.get(f"{server.url}/v2/models/broken/ready", timeout=10).status_code != 200
    assert _tfs(server, "broken", {"instances": [[1.0]]}).status_code in (404, 503)
    assert _tfs(server, "ids", {"instances": [[0, 1, 2]]}).status_code == 200
