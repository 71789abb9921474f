"""The h2load driver: gRPC framing, its parser, and real runs against real gRPC servers."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import orjson
import pytest
from tritonclient.grpc import service_pb2

from benchmarks import h2load, payloads, pyload

# Printed by h2load 1.52 (nghttp2-client) for a 2 s run with --log-file.
H2LOAD_OUTPUT = """starting benchmark...
Application protocol: h2c

finished in 3.00s, 3789.67 req/s, 529.02KB/s
requests: 11369 total, 11369 started, 11369 done, 11360 succeeded, 9 failed, 2 errored, 1 timeout
status codes: 11360 2xx, 0 3xx, 3 4xx, 6 5xx
traffic: 1.55MB (1625145) total, 39.88KB (40842) headers (space savings 96%), 1.08MB (1135000) data
                     min         max         mean         sd        +/- sd
time for request:      405us     32.34ms     16.89ms      3.49ms    81.16%
"""


def test_grpc_frame_is_the_length_prefixed_message() -> None:
    framed = h2load.grpc_frame(b"abc")
    assert framed == b"\x00" + struct.pack(">I", 3) + b"abc"


def test_parser_reads_rate_percentiles_and_errors() -> None:
    log = "".join(f"179532987446{i:04d}\t200\t{(i + 1) * 1000}\n" for i in range(100))
    # 100 bytes per good answer: 1135000 bytes of data is 11350 answers for 11360 2xx
    result = h2load.parse(H2LOAD_OUTPUT, log, answer_bytes=100)
    assert result.requests == 11369
    assert result.rps == pytest.approx(3789.67)
    assert result.p50_ms == pytest.approx(51.0)
    assert result.p99_ms == pytest.approx(100.0)
    assert result.non_2xx == 9 + 10  # HTTP errors, then gRPC errors (answers without a message)
    assert result.socket_errors == 3


def test_parser_refuses_output_without_a_finished_run() -> None:
    with pytest.raises(ValueError, match="h2load"):
        h2load.parse("starting benchmark...\n", "", answer_bytes=100)


def _server(handler: Any) -> tuple[Any, int]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                "inference.GRPCInferenceService",
                {"ModelInfer": grpc.unary_unary_rpc_method_handler(handler)},
            )
        ]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


@pytest.fixture
def answering() -> Iterator[tuple[int, list[bytes]]]:
    """A gRPC server whose ModelInfer records the request bytes and answers a fixed message."""
    seen: list[bytes] = []
    answer = service_pb2.ModelInferResponse(model_name="m", model_version="1").SerializeToString()

    def infer(request: bytes, context: Any) -> bytes:
        seen.append(request)
        return answer

    server, port = _server(infer)
    yield port, seen
    server.stop(None)


def test_h2load_posts_the_grpc_request_and_counts_answers(
    tmp_path: Path, answering: tuple[int, list[bytes]]
) -> None:
    port, seen = answering
    call = payloads.grpc_call("grpc-v2", "m", "x", np.ones((1, 4), np.float32))
    answer = pyload.grpc_raw_call(f"127.0.0.1:{port}", call)
    url = f"http://127.0.0.1:{port}{call.path}"
    framed_answer = len(h2load.grpc_frame(answer))
    result = h2load.run(url, h2load.grpc_frame(call.message), framed_answer, tmp_path, 2, 2, 1)
    assert result.requests > 0
    assert result.errors == 0
    request = service_pb2.ModelInferRequest.FromString(seen[-1])
    assert request.model_name == "m"
    assert np.frombuffer(request.raw_input_contents[0], "<f4").tolist() == [1.0] * 4


def test_h2load_counts_grpc_errors_that_travel_as_http_200(tmp_path: Path) -> None:
    def refuse(request: bytes, context: Any) -> bytes:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "no")

    server, port = _server(refuse)
    try:
        call = payloads.grpc_call("grpc-v2", "m", "x", np.ones((1, 4), np.float32))
        url = f"http://127.0.0.1:{port}{call.path}"
        result = h2load.run(url, h2load.grpc_frame(call.message), 20, tmp_path, 1, 2, 1)
    finally:
        server.stop(None)
    assert result.requests > 0
    assert result.non_2xx == result.requests


def test_tfs_predict_request_carries_the_array() -> None:
    from tensorflow_serving.apis import predict_pb2

    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    call = payloads.grpc_call("grpc-tfs", "mnist", "images", array)
    request = predict_pb2.PredictRequest.FromString(call.message)
    assert call.path == "/tensorflow.serving.PredictionService/Predict"
    tensor = request.inputs["images"]
    assert [d.size for d in tensor.tensor_shape.dim] == [2, 3]
    assert np.frombuffer(tensor.tensor_content, "<f4").tolist() == array.ravel().tolist()


def test_torchserve_prediction_request_carries_the_rest_body() -> None:
    from benchmarks import torchserve_grpc

    call = payloads.grpc_call("grpc-torchserve", "mnist", "images", np.ones((1, 3), np.float32))
    assert call.path == "/org.pytorch.serve.grpc.inference.InferenceAPIsService/Predictions"
    request_class, response_class = torchserve_grpc._classes()
    request = request_class.FromString(call.message)
    assert request.model_name == "mnist"
    assert orjson.loads(request.input["data"]) == {"instances": [[1.0, 1.0, 1.0]]}
    answer = response_class(prediction=b'{"predictions": [[0.5]]}').SerializeToString()
    assert torchserve_grpc.decode_response(answer) == b'{"predictions": [[0.5]]}'
