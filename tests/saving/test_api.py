"""``modelship.save`` in process: what it writes, what it refuses, and that a refused model
leaves nothing behind."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import modelship
from modelship.errors import AlreadyExists, BadConfig
from modelship.manifest import Manifest
from modelship.saving import ExportWarning
from tests.fixtures import own_models

torch = pytest.importorskip("torch")


def _nothing_published(base: Path) -> bool:
    return not base.exists() or not any(base.iterdir())


def test_an_onnx_model_proto_is_published_with_its_lineage(tmp_path: Path) -> None:
    import onnx

    path = own_models.onnx_file(tmp_path / "m.onnx")
    x = np.random.default_rng(0).normal(size=(3, 3)).astype(np.float32)
    result = modelship.save(
        onnx.load(str(path)),
        tmp_path / "models" / "m",
        {"x": x},
        version=5,
        labels=["a", "b", "c", "d"],
        metrics={"accuracy": 0.5},
        parameters={"epochs": 3},
        data={"x_train": x, "name": "noise"},
        signature_name="predict_images",
    )
    assert result.version == 5
    raw = json.loads((result.path / "modelship.json").read_text())
    assert raw["format"] == 1
    assert raw["framework"] == "onnx"
    assert raw["labels"] == ["a", "b", "c", "d"]
    assert raw["metrics"] == {"accuracy": 0.5}
    assert raw["parameters"]["epochs"] == 3
    assert raw["data"]["name"] == "noise"
    assert raw["data"]["fingerprint"].startswith("sha256:")
    assert raw["data"]["arrays"] == {"x_train": {"dtype": "float32", "shape": [3, 3]}}
    assert {"onnx", "onnxruntime", "python"} <= set(raw["framework_versions"])
    assert raw["code_version"]["modelship"]
    assert list(raw["signatures"]) == ["predict_images"]
    assert raw["verification"]["artifacts"]["model.onnx"]["passed"] is True
    assert Manifest.read(result.path).signatures["predict_images"].outputs["argmax"].dtype == (
        "int64"
    )
    with pytest.raises(AlreadyExists):
        modelship.save(path, tmp_path / "models" / "m", version=5)
    # ``modelship models show`` says how the version was checked.
    from typer.testing import CliRunner

    from modelship.cli import _register, app

    _register()
    repo = str(tmp_path / "models")
    wide = {"COLUMNS": "200"}
    shown = CliRunner().invoke(app, ["models", "show", "m", "5", "--repo", repo], env=wide)
    assert shown.exit_code == 0, shown.output
    assert "model.onnx: onnx, max |diff| 0 (rtol 0.0001, atol 1e-05)" in shown.output


def test_outputs_that_disagree_publish_nothing(tmp_path: Path) -> None:
    path = own_models.onnx_file(tmp_path / "m.onnx")
    x = np.ones((2, 3), dtype=np.float32)
    base = tmp_path / "models" / "m"
    wrong = {"y": np.zeros((2, 4)), "argmax": [0, 0]}
    with pytest.raises(BadConfig, match=r"model\.onnx failed its check, nothing was published"):
        modelship.save(path, base, {"x": x}, expected_outputs=wrong)
    assert _nothing_published(base)


def test_a_model_that_cannot_take_any_batch_is_refused_with_a_hint(tmp_path: Path) -> None:
    class FixedBatch(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.reshape(2, 6) * 2  # only a batch of 2 fits

    base = tmp_path / "models" / "fixed"
    with pytest.raises(BadConfig, match="dynamic_batch=False"):
        modelship.save(FixedBatch(), base, torch.zeros(2, 2, 3))
    assert _nothing_published(base)
    result = modelship.save(FixedBatch(), base, torch.zeros(2, 2, 3), dynamic_batch=False)
    signature = result.manifest.default_signature
    assert signature.inputs["x"].shape == (2, 2, 3)
    assert signature.outputs["output_0"].shape == (2, 6)


def test_an_onnx_conversion_beyond_tolerance_is_left_out_with_a_warning(tmp_path: Path) -> None:
    model = own_models.torch_cnn()
    base = tmp_path / "models" / "cnn"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExportWarning)
        # No tolerance at all: model.pt2 runs the same kernels as the original, bit for bit;
        # onnxruntime's are a few ulps off, so its file is left out, not published broken.
        result = modelship.save(model, base, torch.rand(3, 1, 8, 8), rtol=0, atol=0)
    assert set(result.checks) == {"model.pt2"}
    assert result.checks["model.pt2"].max_abs_error == 0
    assert not (result.path / "model.onnx").exists()
    assert result.manifest.artifacts == {"torch": "model.pt2"}
    (message,) = result.warnings
    assert message.startswith("model.onnx left out: output 'output_0' differs")
    assert [str(w.message) for w in caught if w.category is ExportWarning] == [message]
    assert result.manifest.extra["verification"]["left_out"] == [message]


def test_what_cannot_be_saved_says_what_can(tmp_path: Path) -> None:
    with pytest.raises(BadConfig, match=r"give a torch.nn.Module \(with example_inputs\)"):
        modelship.save(object(), tmp_path / "models" / "x")
    with pytest.raises(BadConfig, match="needs example_inputs"):
        modelship.save(own_models.torch_cnn(), tmp_path / "models" / "x")
    with pytest.raises(BadConfig, match="model name"):
        modelship.save(own_models.torch_cnn(), tmp_path / "models", torch.zeros(1), name="../x")
    with pytest.raises(BadConfig, match="cannot run on the example inputs"):
        modelship.save(own_models.torch_cnn(), tmp_path / "models" / "x", torch.zeros(1))
    with pytest.raises(BadConfig, match="does not exist"):
        modelship.publish(tmp_path / "missing.onnx", tmp_path / "models" / "x")
