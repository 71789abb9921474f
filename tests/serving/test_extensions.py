"""Triton's protocol extensions (statistics, model configuration, model repository), called the
way Triton's example clients call them, with ``tritonclient`` over HTTP and gRPC against a real
server on free ports."""

from __future__ import annotations

import json
import queue
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from tests.conftest import RunningServer, ToyModel, start_server, stop_server
from tests.fixtures.toy_models import simple_int32, write_version


@pytest.fixture(scope="module")
def simple_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("triton-repo") / "simple"
    write_version(base, 1, simple_int32())
    return base


@pytest.fixture(scope="module")
def server(
    simple_model: Path,
    toy_model: ToyModel,
    pair_model: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("extensions")
    config = tmp / "models.config"
    config.write_text(
        "model_config_list {\n"
        f"  config {{ name: 'simple' base_path: '{simple_model}' }}\n"
        f"  config {{ name: 'toy' base_path: '{toy_model.base_path}' }}\n"
        f"  config {{ name: 'pair' base_path: '{pair_model}' }}\n"
        "}\n"
    )
    running = start_server(["--model_config_file", str(config)], "pair", tmp)
    yield running
    stop_server(running)


@pytest.fixture
def http(server: RunningServer) -> Iterator[httpclient.InferenceServerClient]:
    client = httpclient.InferenceServerClient(server.url.removeprefix("http://"))
    yield client
    client.close()


@pytest.fixture
def grpc(server: RunningServer) -> Iterator[grpcclient.InferenceServerClient]:
    client = grpcclient.InferenceServerClient(server.grpc_target)
    yield client
    client.close()


def _simple_inputs(module: object) -> tuple[list[object], np.ndarray, np.ndarray]:
    input0 = np.arange(16, dtype=np.int32).reshape(1, 16)
    input1 = np.ones((1, 16), dtype=np.int32)
    inputs = []
    for name, value in (("INPUT0", input0), ("INPUT1", input1)):
        tensor = module.InferInput(name, [1, 16], "INT32")  # type: ignore[attr-defined]
        tensor.set_data_from_numpy(value)
        inputs.append(tensor)
    return inputs, input0, input1


def test_the_simple_http_example_runs_to_its_statistics(
    http: httpclient.InferenceServerClient,
) -> None:
    inputs, input0, input1 = _simple_inputs(httpclient)
    outputs = [httpclient.InferRequestedOutput(f"OUTPUT{i}", binary_data=True) for i in (0, 1)]
    result = http.infer("simple", inputs, outputs=outputs)
    np.testing.assert_array_equal(result.as_numpy("OUTPUT0"), input0 + input1)
    np.testing.assert_array_equal(result.as_numpy("OUTPUT1"), input0 - input1)
    statistics = http.get_inference_statistics(model_name="simple")
    (stats,) = statistics["model_stats"]
    assert (stats["name"], stats["version"]) == ("simple", "1")
    assert stats["inference_stats"]["success"]["count"] >= 1
    assert stats["inference_stats"]["success"]["ns"] > 0
    assert stats["last_inference"] > 0
    everything = http.get_inference_statistics()
    assert {s["name"] for s in everything["model_stats"]} == {"simple", "toy", "pair"}
    assert http.get_inference_statistics("simple", "1")["model_stats"] == [stats]
    extensions = http.get_server_metadata()["extensions"]
    assert {"statistics", "model_configuration", "model_repository"} <= set(extensions)


def test_the_simple_grpc_example_runs_to_its_statistics(
    grpc: grpcclient.InferenceServerClient,
) -> None:
    inputs, input0, input1 = _simple_inputs(grpcclient)
    before = grpc.get_inference_statistics(model_name="simple").model_stats
    outputs = [grpcclient.InferRequestedOutput(f"OUTPUT{i}") for i in (0, 1)]
    result = grpc.infer("simple", inputs, outputs=outputs)
    np.testing.assert_array_equal(result.as_numpy("OUTPUT0"), input0 + input1)
    np.testing.assert_array_equal(result.as_numpy("OUTPUT1"), input0 - input1)
    with pytest.raises(InferenceServerException):
        grpc.infer("simple", [inputs[0]])
    statistics = grpc.get_inference_statistics(model_name="simple")
    assert len(statistics.model_stats) == 1
    (stats,) = statistics.model_stats
    success = stats.inference_stats.success.count
    assert success == (before[0].inference_stats.success.count if before else 0) + 1
    assert stats.inference_stats.fail.count >= 1
    assert "statistics" in grpc.get_server_metadata().extensions


def test_model_configuration_over_http_and_grpc(
    http: httpclient.InferenceServerClient, grpc: grpcclient.InferenceServerClient
) -> None:
    config = http.get_model_config("simple")
    assert config["max_batch_size"] == 0  # [1, 16] has no variable batch dimension
    assert [(t["name"], t["data_type"], t["dims"]) for t in config["input"]] == [
        ("INPUT0", "TYPE_INT32", [1, 16]),
        ("INPUT1", "TYPE_INT32", [1, 16]),
    ]
    assert [t["name"] for t in config["output"]] == ["OUTPUT0", "OUTPUT1"]
    toy = grpc.get_model_config("toy").config
    assert toy.max_batch_size > 0  # batch first: left out of dims, as Triton does
    assert [(t.name, list(t.dims)) for t in toy.input] == [("images", [784])]
    assert [(t.name, list(t.dims)) for t in toy.output] == [("probabilities", [10])]
    assert grpc.get_model_config("toy", as_json=True)["config"]["input"][0]["data_type"] == (
        "TYPE_FP32"
    )
    with pytest.raises(InferenceServerException, match="Request for unknown model: 'absent'"):
        http.get_model_config("absent")


def _states(index: list[dict[str, str]], name: str) -> list[str]:
    return [entry["state"] for entry in index if entry["name"] == name]


def test_repository_unload_and_load_through_the_lifecycle(
    http: httpclient.InferenceServerClient,
    grpc: grpcclient.InferenceServerClient,
    pair_model: Path,
    tmp_path: Path,
) -> None:
    assert _states(http.get_model_repository_index(), "pair") == ["READY"]
    http.unload_model("pair")
    assert not http.is_model_ready("pair")
    assert _states(http.get_model_repository_index(), "pair") == ["UNAVAILABLE"]
    grpc.load_model("pair")
    assert grpc.is_model_ready("pair")
    index = grpc.get_model_repository_index(as_json=True)["models"]
    assert {"name": "pair", "version": "3", "state": "READY"} in index

    # A model the server did not start with: its base path in the load's config.
    copy = tmp_path / "pair2"
    shutil.copytree(pair_model, copy)
    http.load_model("pair2", config=json.dumps({"base_path": str(copy)}))
    assert http.is_model_ready("pair2", "3")
    grpc.unload_model("pair2")
    assert not grpc.is_model_ready("pair2")


_BAD_CALLS: list[tuple[str, Callable[[Any], Any], int, str]] = [
    ("unknown-load", lambda c: c.load_model("ghost"), 404, "unknown model: 'ghost' is not found"),
    ("unknown-unload", lambda c: c.unload_model("ghost"), 404, "'ghost' is not found"),
    ("config-not-json", lambda c: c.load_model("m", config="{not json"), 400, "JSON object"),
    ("config-unknown-field", lambda c: c.load_model("m", config='{"colour": 1}'), 400, "colour"),
    (
        "config-missing-dir",
        lambda c: c.load_model("m", config='{"base_path": "/no/such/dir"}'),
        400,
        "not a directory",
    ),
    ("long-name", lambda c: c.load_model("x" * 256), 400, "at most 255 characters"),
    (
        "model-files",
        lambda c: c.load_model("pair", config="{}", files={"file:1/model.onnx": b"x"}),
        400,
        "unsupported load parameter",
    ),
]


@pytest.mark.parametrize(
    ("call", "status", "words"), [c[1:] for c in _BAD_CALLS], ids=[c[0] for c in _BAD_CALLS]
)
def test_bad_repository_calls_are_clear_4xx(
    server: RunningServer,
    http: httpclient.InferenceServerClient,
    grpc: grpcclient.InferenceServerClient,
    call: Callable[[Any], Any],
    status: int,
    words: str,
) -> None:
    for client in (http, grpc):
        with pytest.raises(InferenceServerException) as refused:
            call(client)
        assert words in refused.value.message()
    grpc_code = {400: "StatusCode.INVALID_ARGUMENT", 404: "StatusCode.NOT_FOUND"}[status]
    assert refused.value.status() == grpc_code
    answer = httpx.post(f"{server.url}/v2/repository/models/simple/load", content=b"[1]")
    assert (answer.status_code, answer.json()) == (400, {"error": "the body must be a JSON object"})
    assert http.is_model_ready("simple")


@pytest.mark.parametrize("module", [httpclient, grpcclient], ids=["http", "grpc"])
def test_classification_answers_score_index_label(
    module: Any, http: httpclient.InferenceServerClient, grpc: grpcclient.InferenceServerClient
) -> None:
    client = http if module is httpclient else grpc
    images = module.InferInput("images", [2, 784], "FP32")
    x = np.random.default_rng(3).random((2, 784), dtype=np.float32)
    images.set_data_from_numpy(x)
    full = client.infer("toy", [images]).as_numpy("probabilities")
    classified = client.infer(
        "toy", [images], outputs=[module.InferRequestedOutput("probabilities", class_count=3)]
    ).as_numpy("probabilities")
    assert classified.shape == (2, 3)
    for row, scores in zip(classified, full, strict=True):
        best = np.argsort(-scores, kind="stable")[:3]
        parts = [item.decode().split(":") for item in row]
        assert [int(index) for _, index, _ in parts] == best.tolist()
        assert [label for _, _, label in parts] == [f"class{i}" for i in best]
        np.testing.assert_allclose([float(s) for s, _, _ in parts], scores[best], atol=1e-6)
    too_many = [module.InferRequestedOutput("probabilities", class_count=11)]
    with pytest.raises(InferenceServerException, match="asks for 11 classes; it has 10"):
        client.infer("toy", [images], outputs=too_many)
    assert client.infer("toy", [images]).as_numpy("probabilities").shape == (2, 10)


def _toy_statistics(client: Any) -> dict[str, Any]:
    if isinstance(client, grpcclient.InferenceServerClient):
        # protobuf's JSON writes 64-bit integers as strings and leaves zeros out.
        (stats,) = client.get_inference_statistics("toy", as_json=True)["model_stats"]
        return dict(stats)
    (stats,) = client.get_inference_statistics("toy")["model_stats"]
    return dict(stats)


def _number(stats: dict[str, Any], *path: str) -> int:
    value: Any = stats
    for key in path:
        value = value.get(key, 0) if isinstance(value, dict) else 0
    return int(value)


@pytest.mark.parametrize("module", [httpclient, grpcclient], ids=["http", "grpc"])
def test_statistics_time_each_phase_and_count_rows(
    module: Any, http: httpclient.InferenceServerClient, grpc: grpcclient.InferenceServerClient
) -> None:
    client = http if module is httpclient else grpc
    before = _toy_statistics(client)
    images = module.InferInput("images", [3, 784], "FP32")
    images.set_data_from_numpy(np.random.default_rng(5).random((3, 784), dtype=np.float32))
    for _ in range(4):
        client.infer("toy", [images])
    after = _toy_statistics(client)

    def grew(*path: str) -> int:
        return _number(after, *path) - _number(before, *path)

    assert grew("inference_count") == 12  # rows, not requests
    assert grew("execution_count") == 4  # no batching here: one runtime call per request
    for phase in ("success", "queue", "compute_input", "compute_infer", "compute_output"):
        assert grew("inference_stats", phase, "count") == 4, phase
        assert grew("inference_stats", phase, "ns") >= 0, phase
    assert grew("inference_stats", "compute_infer", "ns") > 0
    phases = sum(
        grew("inference_stats", p, "ns")
        for p in ("queue", "compute_input", "compute_infer", "compute_output")
    )
    assert phases <= grew("inference_stats", "success", "ns")
    threes = [b for b in after["batch_stats"] if int(b["batch_size"]) == 3]
    assert len(threes) == 1
    assert _number(threes[0], "compute_infer", "count") >= 4
    assert _number(threes[0], "compute_infer", "ns") > 0


def test_streaming_answers_each_request_and_errors_in_turn(
    grpc: grpcclient.InferenceServerClient,
) -> None:
    # As Triton's streaming clients: one stream, answers through the callback, in order.
    answers: queue.Queue[tuple[Any, Any]] = queue.Queue()
    grpc.start_stream(callback=lambda result, error: answers.put((result, error)))
    try:
        inputs, input0, input1 = _simple_inputs(grpcclient)
        grpc.async_stream_infer("simple", inputs, request_id="1")
        grpc.async_stream_infer("absent", inputs, request_id="2")
        grpc.async_stream_infer("simple", inputs, request_id="3")
        received = [answers.get(timeout=30) for _ in range(3)]
    finally:
        grpc.stop_stream()
    (first, none1), (nothing, error), (third, none3) = received
    assert none1 is None
    assert none3 is None
    assert nothing is None
    assert "Request for unknown model: 'absent' is not found" in str(error)
    for result, request_id in ((first, "1"), (third, "3")):
        assert result.get_response().id == request_id
        np.testing.assert_array_equal(result.as_numpy("OUTPUT0"), input0 + input1)
        np.testing.assert_array_equal(result.as_numpy("OUTPUT1"), input0 - input1)
