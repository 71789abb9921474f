"""``--model_config_file``: several models, policies and labels, re-read while serving."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import numpy as np
import orjson
import pytest

from modelship.lifecycle.labels import LabelsFile
from tests.conftest import RunningServer, start_server, stop_server
from tests.fixtures.toy_models import half_plus_two, softmax_linear, two_in_two_out, write_version
from tests.lifecycle.test_watcher import BODY, status, wait_until

PAIR_BODY = orjson.dumps({"instances": [{"a": [1, 2, 3], "b": [4, 5, 6]}]})


def config_text(models: list[str]) -> str:
    parts = {
        "toy": """config {
    name: 'toy' base_path: 'toy' model_platform: 'onnx'
    model_version_policy { specific { versions: 1 versions: 2 } }
    version_labels { key: 'stable' value: 1 }
    version_labels { key: 'canary' value: 2 }
    version_labels { key: 'missing' value: 7 }
  }""",
        "pair": "config { name: 'pair' base_path: 'pair' model_version_policy { all {} } }",
        "half": "config { name: 'half' base_path: 'half' }",
    }
    return "model_config_list {\n  " + "\n  ".join(parts[m] for m in models) + "\n}\n"


def write_config(path: Path, models: list[str]) -> None:
    tmp = path.with_name(".models.config.tmp")
    tmp.write_text(config_text(models))
    os.replace(tmp, path)


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("config-repo")
    for version in (1, 2, 3):
        write_version(root / "toy", version, softmax_linear(784, 10, seed=version)[0])
    write_version(root / "pair", 1, two_in_two_out())
    write_version(root / "half", 1, half_plus_two())
    path = root / "models.config"
    write_config(path, ["toy", "pair"])
    return path


@pytest.fixture(scope="module")
def server(config_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(
        [
            "--model_config_file",
            str(config_file),
            "--model_config_file_poll_wait_seconds",
            "0.2",
            "--file_system_poll_wait_seconds",
            "0.2",
            # One process: every answer comes from the state the test just waited for (each
            # worker re-reads a changed file at its own poll; test_sync covers several workers).
            "--workers",
            "1",
        ],
        "pair",
        tmp_path_factory.mktemp("server"),
    )
    yield running
    stop_server(running)


def predict(server: RunningServer, path: str, body: bytes = BODY) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/models/{path}:predict", content=body, timeout=10)


def test_policy_and_labels(server: RunningServer) -> None:
    # specific {1, 2}: version 3 is on disk but not served; latest-by-default answers 2.
    assert {v: s["state"] for v, s in status(server, "toy").items()} == {
        "2": "AVAILABLE",
        "1": "AVAILABLE",
    }
    assert predict(server, "toy").headers["x-model-version"] == "2"
    assert predict(server, "toy/labels/stable").headers["x-model-version"] == "1"
    assert predict(server, "toy/labels/canary").headers["x-model-version"] == "2"
    labelled = httpx.get(f"{server.url}/v1/models/toy/labels/stable").json()
    assert labelled["model_version_status"][0]["version"] == "1"
    # A label whose version is not AVAILABLE (7 is not on disk) is refused.
    refused = predict(server, "toy/labels/missing")
    assert refused.status_code == 404
    assert "missing" in refused.json()["error"]
    pair = predict(server, "pair", PAIR_BODY)
    assert pair.json()["predictions"][0]["sum"] == [5, 7, 9]


def test_labels_file_moves_a_label(server: RunningServer, config_file: Path) -> None:
    base = config_file.parent / "toy"
    labels = LabelsFile.read(base)
    labels.promote("stable", 2)
    labels.write(base)
    assert wait_until(
        lambda: predict(server, "toy/labels/stable").headers.get("x-model-version") == "2"
    )
    # Labelling a version outside the policy loads it: rollback targets stay servable.
    labels.promote("stable", 3)
    labels.write(base)
    assert wait_until(
        lambda: predict(server, "toy/labels/stable").headers.get("x-model-version") == "3"
    )
    labels.rollback("stable")
    labels.write(base)
    assert wait_until(
        lambda: predict(server, "toy/labels/stable").headers.get("x-model-version") == "2"
    )


def test_reload_adds_and_removes_models(server: RunningServer, config_file: Path) -> None:
    write_config(config_file, ["toy", "half"])
    assert wait_until(lambda: httpx.get(f"{server.url}/v1/models/pair").status_code == 404)
    assert wait_until(lambda: httpx.get(f"{server.url}/v1/models/half").status_code == 200)
    assert wait_until(lambda: status(server, "half")["1"]["state"] == "AVAILABLE")
    half = predict(server, "half", orjson.dumps({"instances": [1.0, 2.0]}))
    assert half.json()["predictions"] == [2.5, 3.0]
    # A broken config is logged and the running list is kept.
    config_file.write_text("model_config_list { config { name: ")
    assert wait_until(lambda: "keeping the current models" in server.output())
    assert predict(server, "toy").status_code == 200
    write_config(config_file, ["toy", "pair"])
    assert wait_until(lambda: httpx.get(f"{server.url}/v1/models/pair").status_code == 200)


def test_grpc_version_label_and_reload(server: RunningServer, config_file: Path) -> None:
    tf = pytest.importorskip("tensorflow")
    pytest.importorskip("tensorflow_serving.apis")
    from tensorflow_serving.apis import (
        model_management_pb2,
        model_service_pb2_grpc,
        predict_pb2,
        prediction_service_pb2_grpc,
    )

    with grpc.insecure_channel(server.grpc_target) as channel:
        predictions = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "toy"
        request.model_spec.version_label = "canary"
        request.inputs["images"].CopyFrom(tf.make_tensor_proto(np.full((1, 784), 0.5, np.float32)))
        answer = predictions.Predict(request, timeout=10)
        assert answer.model_spec.version.value == 2
        request.model_spec.version_label = "missing"
        with pytest.raises(grpc.RpcError) as refused:
            predictions.Predict(request, timeout=10)
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND

        # TF Serving's own ReloadConfigRequest: the new list replaces the old one.
        models = model_service_pb2_grpc.ModelServiceStub(channel)
        reload = model_management_pb2.ReloadConfigRequest()
        toy = reload.config.model_config_list.config.add(
            name="toy", base_path=str(config_file.parent / "toy"), model_platform="onnx"
        )
        toy.model_version_policy.latest.num_versions = 1
        reload.config.model_config_list.config.add(
            name="half", base_path=str(config_file.parent / "half")
        )
        reply = models.HandleReloadConfigRequest(reload, timeout=60)
        assert reply.status.error_code == 0
    assert httpx.get(f"{server.url}/v1/models/pair").status_code == 404
    assert status(server, "half")["1"]["state"] == "AVAILABLE"
    assert wait_until(lambda: predict(server, "toy").headers["x-model-version"] == "3")
    time.sleep(0.5)  # config-file polls: an unchanged file does not undo the reload
    assert httpx.get(f"{server.url}/v1/models/pair").status_code == 404
