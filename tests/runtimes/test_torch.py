"""Serving a version with only its native PyTorch artifact."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from modelship.errors import BadConfig, InvalidInput
from modelship.manifest import Manifest
from modelship.runtimes import RuntimeOptions, detect_runtime, load_runtime
from modelship.runtimes.torch import load_torch
from modelship.signature import Signature, TensorSpec
from modelship.training import TrainResult
from modelship.training.torch_export import load_program
from modelship.training.torch_mlp import MnistMLP, SoftmaxModel
from tests.fixtures.trained import trained_torch


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    return trained_torch(tmp_path_factory)


@pytest.fixture(scope="module")
def native_only(trained: TrainResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the trained version without its ONNX file."""
    path = tmp_path_factory.mktemp("native") / "1"
    path.mkdir()
    for name in ("model.pt2", "modelship.json"):
        shutil.copyfile(trained.version_path / name, path / name)
    return path


def test_a_version_with_only_model_pt2_is_served_by_torch(
    native_only: Path, trained: TrainResult
) -> None:
    assert detect_runtime(native_only) == "torch"
    runtime = load_runtime(native_only)
    try:
        assert runtime.name == "torch"
        assert runtime.signatures == Manifest.read(native_only).signatures
        out = runtime.predict("serving_default", {"images": trained.x_test})
        session = ort.InferenceSession(str(trained.version_path / "model.onnx"))
        [expected] = session.run(["probabilities"], {"images": trained.x_test})
        assert list(out) == ["probabilities"]
        assert out["probabilities"].dtype == np.float32
        assert float(np.abs(out["probabilities"] - expected).max()) <= 1e-5
    finally:
        runtime.close()


def test_the_thread_setting_reaches_torch(native_only: Path) -> None:
    # Each worker gets its share of the cores; torch would otherwise use all of them.
    before = torch.get_num_threads()
    wanted = 1 if before != 1 else 2
    runtime = load_runtime(native_only, options=RuntimeOptions(intra_op_threads=wanted))
    try:
        assert torch.get_num_threads() == wanted
    finally:
        runtime.close()
        torch.set_num_threads(before)


def test_without_a_manifest_the_program_names_its_input(native_only: Path) -> None:
    runtime = load_torch(native_only, None)
    signature = runtime.signatures["serving_default"]
    assert signature.inputs["images"].shape == (-1, 784)
    out = runtime.predict("serving_default", {"images": np.zeros((2, 784), np.float32)})
    assert out["output_0"].shape == (2, 10)


def test_inputs_of_another_dtype_are_converted(native_only: Path) -> None:
    runtime = load_torch(native_only, Manifest.read(native_only))
    as_float64 = runtime.predict("serving_default", {"images": np.full((1, 784), 0.5)})
    as_float32 = runtime.predict(
        "serving_default", {"images": np.full((1, 784), 0.5, dtype=np.float32)}
    )
    np.testing.assert_array_equal(as_float64["probabilities"], as_float32["probabilities"])


def test_a_corrupt_artifact_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "model.pt2").write_bytes(b"not a zip archive")
    with pytest.raises(BadConfig, match="cannot load the PyTorch artifact"):
        load_torch(tmp_path, None)


def test_a_directory_without_artifacts_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadConfig, match=r"neither model\.pt2 nor model\.ts"):
        load_torch(tmp_path, None)


def test_a_torchscript_artifact_is_served_too(trained: TrainResult, tmp_path: Path) -> None:
    program = load_program(trained.version_path / "model.pt2")
    model = SoftmaxModel(MnistMLP())
    model.load_state_dict(program.state_dict())
    traced = torch.jit.trace(model.eval(), torch.from_numpy(trained.x_test[:2]))
    torch.jit.save(traced, str(tmp_path / "model.ts"))
    shutil.copyfile(trained.version_path / "modelship.json", tmp_path / "modelship.json")
    assert detect_runtime(tmp_path) == "torch"
    runtime = load_runtime(tmp_path)
    out = runtime.predict("serving_default", {"images": trained.x_test})
    with torch.inference_mode():
        expected = program(torch.from_numpy(trained.x_test)).numpy()
    assert float(np.abs(out["probabilities"] - expected).max()) <= 1e-6


def test_the_runtime_computes_on_the_device_asked_for(native_only: Path) -> None:
    runtime = load_runtime(native_only, options=RuntimeOptions(device="cpu"))
    try:
        assert getattr(runtime, "device", None) == "cpu"
    finally:
        runtime.close()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_gpu_that_is_not_there_fails_the_load(native_only: Path) -> None:
    with pytest.raises(BadConfig, match="--device cuda: no CUDA GPU found"):
        load_runtime(native_only, options=RuntimeOptions(device="cuda"))


class _Lookup(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.table = torch.nn.Embedding(10, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.table(ids).sum(1)


def test_what_the_module_refuses_is_invalid_input_with_its_reason(tmp_path: Path) -> None:
    program = torch.export.export(_Lookup().eval(), (torch.zeros(1, 3, dtype=torch.long),))
    torch.export.save(program, str(tmp_path / "model.pt2"))
    # A manifest claiming a dynamic batch: the program's own guard has the last word.
    signature = Signature(
        {"ids": TensorSpec("int64", (-1, 3))}, {"v": TensorSpec("float32", (-1, 2))}
    )
    runtime = load_torch(
        tmp_path, Manifest(name="m", framework="torch", signatures={"serving_default": signature})
    )
    ok = runtime.predict("serving_default", {"ids": np.zeros((1, 3), np.int64)})
    assert ok["v"].shape == (1, 2)
    with pytest.raises(
        InvalidInput, match=r"refused the input: Guard failed: ids.size\(\)\[0\] == 1"
    ):
        runtime.predict("serving_default", {"ids": np.zeros((2, 3), np.int64)})
    with pytest.raises(InvalidInput, match="refused the input: index out of range"):
        runtime.predict("serving_default", {"ids": np.array([[1, 2, 30]], np.int64)})


def test_a_program_without_a_manifest_reports_its_real_output_dtype_and_shape(
    tmp_path: Path,
) -> None:
    program = torch.export.export(_Lookup().eval(), (torch.zeros(1, 3, dtype=torch.long),))
    torch.export.save(program, str(tmp_path / "model.pt2"))
    signature = load_torch(tmp_path).signatures["serving_default"]
    assert signature.inputs == {"ids": TensorSpec("int64", (1, 3))}
    assert signature.outputs == {"output_0": TensorSpec("float32", (1, 2))}
    assert signature.fixed_batch == 1
