"""SavedModels written by plain TensorFlow code, served by a real ``modelship serve`` process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

pytest.importorskip("tensorflow")

from tests.conftest import RunningServer, start_server, stop_server
from tests.fixtures.tf_models import tf_outputs, write_pair_savedmodel

pytestmark = pytest.mark.tensorflow

A = np.array([[0.1, -0.2, 0.3], [1.0, 2.0, -3.0], [0.0, 0.5, 0.25]], dtype=np.float32)
B = np.array([1, -2, 3], dtype=np.int64)


def _serve(base: Path, name: str, tmp: Path) -> RunningServer:
    # TensorFlow's first import is slow on a busy machine; give it time.
    return start_server(
        ["--model_name", name, "--model_base_path", str(base)], name, tmp, None, 180
    )


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Path]]:
    """``pair/2``: signatures ``serving_default`` (a, b -> weighted, doubled) and ``norm``."""
    base = tmp_path_factory.mktemp("repo") / "pair"
    version = write_pair_savedmodel(base / "2")
    server = _serve(base, "pair", tmp_path_factory.mktemp("server"))
    yield server, version
    stop_server(server)


@pytest.fixture(scope="module")
def nodefault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Path]]:
    """``nodefault/1``: the same module saved with signatures ``combine`` and ``norm`` only."""
    base = tmp_path_factory.mktemp("repo") / "nodefault"
    version = write_pair_savedmodel(base / "1", with_default=False)
    server = _serve(base, "nodefault", tmp_path_factory.mktemp("server"))
    yield server, version
    stop_server(server)


def _post(server: RunningServer, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", content=orjson.dumps(body), timeout=30)


def test_metadata_reports_every_signature_def(pair: tuple[RunningServer, Path]) -> None:
    server, _ = pair
    answer = httpx.get(f"{server.url}/v1/models/pair/metadata", timeout=10).json()
    assert answer["model_spec"]["version"] == "2"
    defs = answer["metadata"]["signature_def"]["signature_def"]
    assert set(defs) == {"serving_default", "norm"}
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
    assert set(defs["metadata"]["signature_def"]["signature_def"]) == {"combine", "norm"}

    unnamed = _post(server, "/v1/models/nodefault:predict", {"inputs": A.tolist()})
    assert unnamed.status_code == 400
    error = unnamed.json()["error"]
    assert "serving_default" in error
    assert "combine, norm" in error

    named = _post(
        server,
        "/v1/models/nodefault:predict",
        {"signature_name": "combine", "inputs": {"a": A.tolist(), "b": B.tolist()}},
    )
    assert named.status_code == 200, named.text
    expected = tf_outputs(version, "combine", a=A, b=B)
    np.testing.assert_allclose(named.json()["outputs"]["weighted"], expected["weighted"], atol=1e-5)
