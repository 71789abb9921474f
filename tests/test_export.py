"""Publishing versions: layout, atomicity, no overwrites, manifest contents, artifact agreement."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

import modelship
from modelship.errors import AlreadyExists, BadConfig
from modelship.export import next_version, publish_version
from modelship.manifest import Manifest
from modelship.training import TrainResult
from modelship.training.torch_export import ONNX_OPSET, load_program
from tests.fixtures.trained import VERSION, trained_torch


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    return trained_torch(tmp_path_factory)


def test_layout(trained: TrainResult) -> None:
    path = trained.version_path
    assert path.name == str(VERSION)
    assert path.parent.name == "mnist"
    assert sorted(p.name for p in path.iterdir()) == [
        "model.onnx",
        "model.pt2",
        "modelship.json",
        "training_curve.png",
    ]
    # Nothing else in the model directory: the temporary directory was renamed, not copied.
    assert [p.name for p in path.parent.iterdir()] == [str(VERSION)]


def test_manifest_fields(trained: TrainResult) -> None:
    manifest = Manifest.read(trained.version_path)
    assert manifest.name == "mnist"
    assert manifest.version == VERSION
    assert manifest.framework == "torch"
    assert manifest.artifacts == {"onnx": "model.onnx", "torch": "model.pt2"}
    signature = manifest.default_signature
    assert signature.inputs["images"].to_json() == {"dtype": "float32", "shape": [-1, 784]}
    assert signature.outputs["probabilities"].to_json() == {"dtype": "float32", "shape": [-1, 10]}
    assert manifest.labels == [str(i) for i in range(10)]
    assert manifest.metrics["test_accuracy"] == pytest.approx(trained.test_accuracy, abs=1e-6)
    assert len(manifest.metrics["history"]) == 1
    assert manifest.parameters["epochs"] == 1
    assert manifest.parameters["batch_size"] == 64
    assert manifest.parameters["learning_rate"] == 1e-3
    assert manifest.parameters["seed"] == 0
    data = manifest.data
    assert data["name"] == "sklearn-digits"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", data["fingerprint"])
    assert data["n_train"] + data["n_test"] == 1797
    assert data["n_test"] == len(trained.y_test)
    assert sum(data["stats"]["class_counts"].values()) == data["n_train"]
    assert len(data["stats"]["feature_mean"]) == 784
    assert manifest.code_version["modelship"] == modelship.__version__
    assert "git" in manifest.code_version
    assert manifest.framework_versions["torch"] == torch.__version__
    assert manifest.framework_versions["onnx"] == onnx.__version__
    assert "numpy" in manifest.framework_versions
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", manifest.created_at)


def test_onnx_has_a_dynamic_batch_and_a_recent_opset(trained: TrainResult) -> None:
    model = onnx.load(str(trained.version_path / "model.onnx"))
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= ONNX_OPSET
    [graph_input] = model.graph.input
    assert graph_input.name == "images"
    dims = graph_input.type.tensor_type.shape.dim
    assert dims[0].dim_param  # symbolic, not a fixed size
    assert dims[1].dim_value == 784


def test_onnx_and_native_artifacts_agree_on_the_test_split(trained: TrainResult) -> None:
    session = ort.InferenceSession(str(trained.version_path / "model.onnx"))
    [from_onnx] = session.run(["probabilities"], {"images": trained.x_test})
    program = load_program(trained.version_path / "model.pt2")
    with torch.inference_mode():
        from_torch = program(torch.from_numpy(trained.x_test)).numpy()
    assert from_onnx.shape == (len(trained.y_test), 10)
    assert float(np.abs(from_onnx - from_torch).max()) <= 1e-5
    np.testing.assert_allclose(from_onnx.sum(axis=1), 1.0, rtol=1e-5)
    accuracy = float((from_onnx.argmax(axis=1) == trained.y_test).mean())
    assert accuracy == pytest.approx(trained.test_accuracy, abs=1e-6)
    # Any batch size works, including one.
    [single] = session.run(["probabilities"], {"images": trained.x_test[:1]})
    np.testing.assert_allclose(single, from_onnx[:1], atol=1e-6)


def _write_marker(directory: Path, version: int) -> None:
    (directory / "marker").write_text(str(version))


def test_publish_refuses_to_overwrite(tmp_path: Path) -> None:
    first = publish_version(tmp_path, _write_marker, version=5)
    with pytest.raises(AlreadyExists, match="never overwritten"):
        publish_version(tmp_path, lambda d, v: (d / "marker").write_text("new"), version=5)
    assert (first / "marker").read_text() == "5"
    assert [p.name for p in tmp_path.iterdir()] == ["5"]


def test_a_failing_writer_leaves_nothing_behind(tmp_path: Path) -> None:
    def explode(directory: Path, version: int) -> None:
        (directory / "half-written").write_text("x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        publish_version(tmp_path, explode, version=9)
    assert list(tmp_path.iterdir()) == []


def test_writer_works_in_a_hidden_directory_beside_the_version(tmp_path: Path) -> None:
    seen: list[Path] = []

    def record(directory: Path, version: int) -> None:
        seen.append(directory)
        # While it is being written, a repository scan must not see the version.
        assert not (tmp_path / str(version)).exists()

    path = publish_version(tmp_path, record, version=3)
    assert seen[0].parent == tmp_path
    assert seen[0].name.startswith(".tmp-3-")
    assert not seen[0].exists()
    assert path == tmp_path / "3"


def test_default_version_is_unix_time_and_always_newest(tmp_path: Path) -> None:
    before = int(time.time())
    first = publish_version(tmp_path, _write_marker)
    assert before <= int(first.name) <= int(time.time())
    # Two publishes within one second still get distinct, increasing versions.
    second = publish_version(tmp_path, _write_marker)
    assert int(second.name) > int(first.name)
    far_future = publish_version(tmp_path, _write_marker, version=4_000_000_000)
    assert next_version(tmp_path) == int(far_future.name) + 1


@pytest.mark.parametrize("version", [0, -3])
def test_version_must_be_positive(tmp_path: Path, version: int) -> None:
    with pytest.raises(BadConfig, match="positive integer"):
        publish_version(tmp_path, _write_marker, version=version)


def test_manifest_is_plain_json(trained: TrainResult) -> None:
    raw = json.loads((trained.version_path / "modelship.json").read_text())
    assert raw["signatures"]["serving_default"]["inputs"]["images"]["shape"] == [-1, 784]
