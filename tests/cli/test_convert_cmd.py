"""``modelship convert`` for PyTorch and ONNX files: each artifact checked before publishing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from typer.testing import CliRunner

from modelship.cli import _register, app
from modelship.manifest import Manifest
from modelship.runtimes import load_runtime
from tests.fixtures import own_models

torch = pytest.importorskip("torch")

runner = CliRunner()


class Affine(torch.nn.Module):
    """A module pickled whole by ``torch.save(model)``: loading it needs this class."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(3, 2)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features)


@pytest.fixture(scope="module", autouse=True)
def _commands() -> None:
    _register()


def _convert(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["convert", *args])
    return result.exit_code, " ".join(result.output.split())


def test_a_pt2_file_converts_with_its_traced_signature(tmp_path: Path) -> None:
    model = own_models.torch_tabular()
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(
        model,
        (torch.rand(2, 4), torch.tensor([1, 2])),
        dynamic_shapes=({0: batch}, {0: batch}),
    )
    torch.export.save(program, str(tmp_path / "tabular.pt2"))
    output = tmp_path / "models"
    code, out = _convert(
        str(tmp_path / "tabular.pt2"), "--name", "tabular", "--output", str(output),
        "--output-name", "probabilities", "--output-name", "category_id",
    )  # fmt: skip
    assert code == 0, out
    assert (
        "serving_default: numeric float32[-1, 4], category int64[-1] -> "
        "probabilities float32[-1, 2], category_id int64[-1]"
    ) in out
    assert "checked model.pt2 with torch: max |diff| 0" in out
    (version,) = (output / "tabular").iterdir()
    assert Manifest.read(version).parameters["converted_from"] == "tabular.pt2"
    runtime = load_runtime(version)
    numeric, category = torch.rand(3, 4), torch.tensor([0, 4, 2])
    got = runtime.predict(
        "serving_default", {"numeric": numeric.numpy(), "category": category.numpy()}
    )
    runtime.close()
    with torch.no_grad():
        want = model(numeric, category)
    np.testing.assert_allclose(got["probabilities"], want["probabilities"].numpy(), atol=1e-6)
    assert got["category_id"].dtype == np.int64
    assert got["category_id"].tolist() == want["category_id"].tolist()


def test_torchscript_needs_and_takes_example_inputs(tmp_path: Path) -> None:
    model = own_models.torch_cnn()
    scripted = torch.jit.trace(model, torch.rand(2, 1, 8, 8))
    source = tmp_path / "cnn.ts"
    torch.jit.save(scripted, str(source))
    output = tmp_path / "models"
    code, out = _convert(str(source), "--name", "cnn", "--output", str(output))
    assert code == 1
    assert "give example inputs" in out
    np.save(tmp_path / "example.npy", np.random.default_rng(0).random((3, 1, 8, 8), np.float32))
    code, out = _convert(
        str(source), "--name", "cnn", "--output", str(output),
        "--example", str(tmp_path / "example.npy"), "--input-name", "images",
    )  # fmt: skip
    assert code == 0, out
    assert "images float32[-1, 1, 8, 8] -> output_0 float32[-1, 10]" in out
    (version,) = (output / "cnn").iterdir()
    assert (version / "model.ts").is_file()


def test_an_onnx_file_is_checked_against_the_reference_evaluator(tmp_path: Path) -> None:
    source = own_models.onnx_file(tmp_path / "elsewhere.onnx")
    x = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
    np.savez(tmp_path / "example.npz", x=x)
    output = tmp_path / "models"
    code, out = _convert(
        str(source), "--name", "elsewhere", "--output", str(output),
        "--example", str(tmp_path / "example.npz"), "--signature-name", "predict_images",
    )  # fmt: skip
    assert code == 0, out
    assert "predict_images: x float32[-1, 3] -> y float32[-1, 4], argmax int64[-1]" in out
    (version,) = (output / "elsewhere").iterdir()
    manifest = Manifest.read(version)
    assert manifest.parameters["checked_against"] == "onnx.reference"
    assert manifest.extra["verification"]["examples"] == 4
    runtime = load_runtime(version)
    assert list(runtime.signatures) == ["predict_images"]
    runtime.close()
    want = ort.InferenceSession(str(source)).run(None, {"x": x})
    got = ort.InferenceSession(str(version / "model.onnx")).run(None, {"x": x})
    assert [g.tolist() for g in got] == [w.tolist() for w in want]


def test_a_broken_onnx_file_publishes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "broken.onnx"
    source.write_bytes(b"\x08\x07garbage")
    output = tmp_path / "models"
    code, out = _convert(str(source), "--name", "broken", "--output", str(output))
    assert code == 1
    assert "onnxruntime cannot load" in out or "is not an ONNX model" in out
    assert not (output / "broken").exists() or not any((output / "broken").iterdir())


def test_a_pickled_module_converts_with_example_inputs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = Affine().eval()
    torch.save(model, tmp_path / "affine.pt")
    np.save(tmp_path / "x.npy", np.ones((2, 3), np.float32))
    output = tmp_path / "models"
    code, out = _convert(
        str(tmp_path / "affine.pt"), "--name", "affine", "--output", str(output),
        "--example", str(tmp_path / "x.npy"), "--no-onnx",
    )  # fmt: skip
    assert code == 0, out
    assert "features float32[-1, 3] -> output_0 float32[-1, 2]" in out
    (version,) = (output / "affine").iterdir()
    assert sorted(p.name for p in version.iterdir()) == ["model.pt2", "modelship.json"]
    x = np.random.default_rng(2).random((4, 3), dtype=np.float32)
    got = load_runtime(version).predict("serving_default", {"features": x})["output_0"]
    with torch.no_grad():
        np.testing.assert_allclose(got, model(torch.from_numpy(x)).numpy(), rtol=1e-6)
