"""ONNX Runtime: the thread count it picks when the server leaves it open."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
import psutil
import pytest
from onnx import TensorProto, helper, numpy_helper

from modelship.runtimes import onnx as onnx_runtime
from modelship.runtimes.onnx import (
    SHRINK_AFTER_BYTES,
    SMALL_MODEL_SECONDS,
    OnnxRuntime,
    auto_threads,
    probe_inputs,
)
from tests.fixtures.toy_models import reference_softmax_linear, row_sum, softmax_linear


@pytest.fixture(scope="module")
def mlp(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    model, weight, bias = softmax_linear(784, 10)
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    onnx.save(model, str(path))
    return path, weight, bias


def test_probe_inputs_are_one_example_of_zeros(mlp: tuple[Path, np.ndarray, np.ndarray]) -> None:
    runtime = OnnxRuntime(mlp[0], threads=1)
    feeds = probe_inputs(runtime._session)
    assert feeds is not None
    assert list(feeds) == ["images"]
    assert feeds["images"].shape == (1, 784)
    assert feeds["images"].dtype == np.float32
    assert not feeds["images"].any()


def test_no_probe_when_a_dimension_besides_the_batch_is_open(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    onnx.save(row_sum(), str(path))
    runtime = OnnxRuntime(path)
    assert probe_inputs(runtime._session) is None
    assert runtime.intra_op_threads == 0  # nothing to time: onnxruntime's default


def test_one_thread_only_under_the_small_model_bound() -> None:
    assert auto_threads(SMALL_MODEL_SECONDS / 10)
    assert not auto_threads(SMALL_MODEL_SECONDS)
    assert not auto_threads(math.inf)


def test_the_probe_times_the_model(mlp: tuple[Path, np.ndarray, np.ndarray]) -> None:
    runtime = OnnxRuntime(mlp[0], threads=1)
    feeds = probe_inputs(runtime._session)
    assert feeds is not None
    assert 0 < onnx_runtime._one_example_seconds(runtime._session, feeds) < math.inf


@pytest.mark.parametrize(("seconds", "threads"), [(1e-5, 1), (1.0, 0)])
def test_automatic_threads_follow_the_measured_run(
    mlp: tuple[Path, np.ndarray, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
    seconds: float,
    threads: int,
) -> None:
    # the measurement is replaced so the choice does not depend on this machine's load
    monkeypatch.setattr(onnx_runtime, "_one_example_seconds", lambda session, feeds: seconds)
    path, weight, bias = mlp
    runtime = OnnxRuntime(path)
    assert runtime.intra_op_threads == threads
    x = np.random.default_rng(1).random((3, 784), dtype=np.float32)
    got = runtime.predict("serving_default", {"images": x})["probabilities"]
    np.testing.assert_allclose(got, reference_softmax_linear(x, weight, bias), rtol=1e-4)


def test_an_explicit_thread_count_is_kept(mlp: tuple[Path, np.ndarray, np.ndarray]) -> None:
    assert OnnxRuntime(mlp[0], threads=2).intra_op_threads == 2


def test_the_cpu_leaves_gpu_providers_out() -> None:
    available = ["CUDAExecutionProvider", "AzureExecutionProvider", "CPUExecutionProvider"]
    assert onnx_runtime.providers_for("cpu", available) == (
        ["AzureExecutionProvider", "CPUExecutionProvider"],
        "cpu",
    )


@pytest.mark.parametrize(("device", "index"), [("auto", 0), ("cuda", 0), ("cuda:1", 1)])
def test_a_gpu_runs_on_cuda_with_the_cpu_behind_it(device: str, index: int) -> None:
    available = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert onnx_runtime.providers_for(device, available) == (
        [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"],
        f"cuda:{index}",
    )


def test_without_the_cuda_provider_a_gpu_falls_back_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(onnx_runtime, "_fallback_warned", False)
    available = ["CPUExecutionProvider"]
    assert onnx_runtime.providers_for("auto", available) == (available, "cpu")
    assert not caplog.records  # auto asks for no GPU in particular
    for _ in range(3):
        assert onnx_runtime.providers_for("cuda", available) == (available, "cpu")
    [warning] = caplog.records
    assert "--device cuda: onnxruntime" in warning.getMessage()
    assert "install onnxruntime-gpu" in warning.getMessage()


def test_the_runtime_says_where_it_computes(mlp: tuple[Path, np.ndarray, np.ndarray]) -> None:
    assert OnnxRuntime(mlp[0], threads=1, device="cpu").device == "cpu"


def _wide_mlp(path: Path) -> Path:
    """784 -> 512 -> 10: a large batch's activations are what the CPU arena would keep."""
    rng = np.random.default_rng(0)
    weights = [
        numpy_helper.from_array(rng.normal(size=(784, 512)).astype(np.float32), "W1"),
        numpy_helper.from_array(rng.normal(size=(512, 10)).astype(np.float32), "W2"),
    ]
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["images", "W1"], ["hidden"]),
            helper.make_node("Relu", ["hidden"], ["relu"]),
            helper.make_node("MatMul", ["relu", "W2"], ["scores"]),
        ],
        "wide_mlp",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 784])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", 10])],
        initializer=weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_a_large_batch_does_not_pin_the_arena(tmp_path: Path) -> None:
    runtime = OnnxRuntime(_wide_mlp(tmp_path / "model.onnx"), threads=1)
    process = psutil.Process()
    runtime.predict("serving_default", {"images": np.ones((8, 784), dtype=np.float32)})
    before = process.memory_info().rss
    rows = 32_768  # 100 MiB of input, 64 MiB of hidden activations
    assert rows * 784 * 4 > SHRINK_AFTER_BYTES
    batch = np.ones((rows, 784), dtype=np.float32)
    assert runtime.predict("serving_default", {"images": batch})["scores"].shape == (rows, 10)
    del batch
    grown = process.memory_info().rss - before
    assert grown < 32 * 1024 * 1024, f"{grown >> 20} MiB kept after the batch"
