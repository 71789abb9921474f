"""SavedModels served by a real ``modelship serve`` process with the TensorFlow runtime.

One written by plain TensorFlow code (two inputs, two outputs, several signatures), one without
``serving_default``, and the Keras model modelship trains, with its ONNX file removed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

pytest.importorskip("tensorflow")

from tests.conftest import RunningServer, start_server, stop_server
from tests.fixtures.tf_models import tf_outputs, write_pair_savedmodel
from tests.fixtures.trained_keras import TrainedKeras, trained_keras

pytestmark = pytest.mark.tensorflow

A = np.array([[0.1, -0.2, 0.3], [1.0, 2.0, -3.0], [0.0, 0.5, 0.25]], dtype=np.float32)
B = np.array([1, -2, 3], dtype=np.int64)


@dataclass
class TfServer:
    """One server for every model here: TensorFlow is imported once, which is the slow part."""

    server: RunningServer
    pair: Path
    nodefault: Path
    mnist: Path
    trained: TrainedKeras


@pytest.fixture(scope="module")
def tf_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TfServer]:
    """``pair/2``: signatures ``serving_default`` (a, b -> weighted, doubled) and ``norm``;
    ``nodefault/1``: the same module saved with ``combine`` and ``norm`` only;
    ``mnist/5``: the trained Keras version with only its SavedModel, so TensorFlow serves it."""
    repo = tmp_path_factory.mktemp("repo")
    pair = write_pair_savedmodel(repo / "pair" / "2")
    nodefault = write_pair_savedmodel(repo / "nodefault" / "1", with_default=False)
    trained = trained_keras(tmp_path_factory)
    mnist = repo / "mnist" / "5"
    shutil.copytree(trained.result.version_path, mnist, ignore=shutil.ignore_patterns("*.onnx"))
    config = repo / "models.config"
    entries = "".join(
        f"  config {{ name: '{name}' base_path: '{repo / name}' }}\n"
        for name in ("pair", "nodefault", "mnist")
    )
    config.write_text(f"model_config_list {{\n{entries}}}\n")
    # Every configured model is loaded before the server answers; TF's import is slow.
    server = start_server(
        ["--model_config_file", str(config)], "mnist", tmp_path_factory.mktemp("server"), None, 240
    )
    yield TfServer(server, pair, nodefault, mnist, trained)
    stop_server(server)


@pytest.fixture
def pair(tf_server: TfServer) -> tuple[RunningServer, Path]:
    return tf_server.server, tf_server.pair


@pytest.fixture
def nodefault(tf_server: TfServer) -> tuple[RunningServer, Path]:
    return tf_server.server, tf_server.nodefault


def _post(server: RunningServer, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", content=orjson.dumps(body), timeout=30)


def test_metadata_reports_every_signature_def(pair: tuple[RunningServer, Path]) -> None:
    server, _ = pair
    answer = httpx.get(f"{server.url}/v1/models/pair/metadata", timeout=10).json()
    assert answer["model_spec"]["version"] == "2"
    defs = answer["metadata"]["signature_def"]["signature_def"]
    assert set(defs) == {"serving_default", "greet", "norm"}
    assert defs["greet"]["inputs"]["text"]["dtype"] == "DT_STRING"
    default = defs["serving_default"]
    assert default["method_name"] == "tensorflow/serving/predict"
    assert {k: v["dtype"] for k, v in default["inputs"].items()} == {
        "a": "DT_FLOAT",
        "b": "DT_INT64",
    }
    assert {k: v["dtype"] for k, v in default["outputs"].items()} == {
        "doubled": "DT_INT64",
        "weighted": "DT_FLOAT",
    }
    dims = [d["size"] for d in default["inputs"]["a"]["tensor_shape"]["dim"]]
    assert dims == ["-1", "3"]
    assert default["inputs"]["a"]["name"] == "serving_default_a:0"
    assert list(defs["norm"]["inputs"]) == ["x"]


def test_row_and_columnar_predictions_equal_tensorflow(
    pair: tuple[RunningServer, Path],
) -> None:
    server, version = pair
    expected = tf_outputs(version, "serving_default", a=A, b=B)
    rows = _post(
        server,
        "/v1/models/pair:predict",
        {"instances": [{"a": a, "b": int(b)} for a, b in zip(A.tolist(), B, strict=True)]},
    )
    assert rows.status_code == 200, rows.text
    predictions = rows.json()["predictions"]
    np.testing.assert_allclose(
        [p["weighted"] for p in predictions], expected["weighted"], atol=1e-5
    )
    assert [p["doubled"] for p in predictions] == expected["doubled"].tolist()

    cols = _post(
        server,
        "/v1/models/pair/versions/2:predict",
        {"signature_name": "serving_default", "inputs": {"a": A.tolist(), "b": B.tolist()}},
    )
    assert cols.status_code == 200, cols.text
    outputs = cols.json()["outputs"]
    np.testing.assert_allclose(outputs["weighted"], expected["weighted"], atol=1e-5)
    assert outputs["doubled"] == expected["doubled"].tolist()


def test_other_signature_by_name(pair: tuple[RunningServer, Path]) -> None:
    server, version = pair
    answer = _post(
        server, "/v1/models/pair:predict", {"signature_name": "norm", "inputs": A.tolist()}
    )
    assert answer.status_code == 200, answer.text
    expected = tf_outputs(version, "norm", x=A)["norm"]
    np.testing.assert_allclose(answer.json()["outputs"], expected, atol=1e-5)


def test_string_signature_with_text_and_b64(pair: tuple[RunningServer, Path]) -> None:
    server, _ = pair
    body = {"signature_name": "greet", "instances": ["ann", {"b64": "Ym9i"}]}
    answer = _post(server, "/v1/models/pair:predict", body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == [
        {"greeting": "hello ann", "length": 3},
        {"greeting": "hello bob", "length": 3},
    ]


def test_missing_input_is_named(pair: tuple[RunningServer, Path]) -> None:
    server, _ = pair
    answer = _post(server, "/v1/models/pair:predict", {"inputs": {"a": A.tolist()}})
    assert answer.status_code == 400
    assert "missing input(s) b" in answer.json()["error"]
    rows = _post(server, "/v1/models/pair:predict", {"instances": [{"b": 1}, {"b": 2}]})
    assert rows.status_code == 400
    assert "a" in rows.json()["error"]


def test_without_serving_default_a_signature_must_be_named(
    nodefault: tuple[RunningServer, Path],
) -> None:
    server, version = nodefault
    defs = httpx.get(f"{server.url}/v1/models/nodefault/metadata", timeout=10).json()
    assert set(defs["metadata"]["signature_def"]["signature_def"]) == {"combine", "greet", "norm"}

    unnamed = _post(server, "/v1/models/nodefault:predict", {"inputs": A.tolist()})
    assert unnamed.status_code == 400
    error = unnamed.json()["error"]
    assert "serving_default" in error
    assert "combine, greet, norm" in error

    named = _post(
        server,
        "/v1/models/nodefault:predict",
        {"signature_name": "combine", "inputs": {"a": A.tolist(), "b": B.tolist()}},
    )
    assert named.status_code == 200, named.text
    expected = tf_outputs(version, "combine", a=A, b=B)
    np.testing.assert_allclose(named.json()["outputs"]["weighted"], expected["weighted"], atol=1e-5)


def test_keras_trained_model_served_by_tensorflow(tf_server: TfServer) -> None:
    server, trained, version = tf_server.server, tf_server.trained, tf_server.mnist
    meta = httpx.get(f"{server.url}/v1/models/mnist/metadata", timeout=10).json()
    default = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert list(default["inputs"]) == ["images"]
    assert list(default["outputs"]) == ["probabilities"]
    assert meta["metadata"]["modelship"]["framework"] == "tensorflow"

    x = trained.result.x_test[:5]
    expected = tf_outputs(version, "serving_default", images=x)["probabilities"]
    np.testing.assert_allclose(expected, trained.recipe.predict_proba(x), atol=1e-5)
    rows = _post(server, "/v1/models/mnist:predict", {"instances": x.tolist()})
    assert rows.status_code == 200, rows.text
    np.testing.assert_allclose(rows.json()["predictions"], expected, atol=1e-5)
    # 28x28 images are accepted too: 784 values per example either way.
    cols = _post(
        server, "/v1/models/mnist/versions/5:predict", {"inputs": x.reshape(5, 28, 28).tolist()}
    )
    assert cols.status_code == 200, cols.text
    np.testing.assert_allclose(cols.json()["outputs"], expected, atol=1e-5)
    short = _post(server, "/v1/models/mnist:predict", {"instances": [[0.5] * 28]})
    assert short.status_code == 400
    assert "784" in short.json()["error"]
