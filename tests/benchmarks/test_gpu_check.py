"""The GPU check's parts that run anywhere: the wheels it carries stay under their limit, the
script installs them into a bare folder and skips the GPU rows where there is no GPU, and the
report's table reads the same whether GPU rows were measured or not."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from benchmarks.gpu_check import Plan, table

ROOT = Path(__file__).resolve().parents[2]

CPU_ROW = {"batching": False, "api": "rest", "requests_per_second": 120.0, "p50_ms": 20.0,
           "p99_ms": 90.0, "failures": 0}  # fmt: skip


def _report(devices: list[str]) -> dict[str, object]:
    training: dict[str, object] = {
        d: {"epoch_seconds": 1.5, "first_epoch_seconds": 2.0, "val_accuracy": 0.9} for d in devices
    }
    if len(devices) == 2:
        training["same_weights"] = {"max_abs_difference": 3e-6, "same_class": 1.0}
        training["trained_apart"] = {"same_class": 0.97}
    return {
        "when": "2026-11-29 19:00 UTC",
        "machine": "test",
        "training": training,
        "serving": [{"device": d, **CPU_ROW} for d in devices],
    }


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_without_a_gpu_the_table_says_the_gpu_rows_were_not_measured() -> None:
    text = table(_report(["cpu"]))
    assert "| cpu | off | rest | 120.0 | 20.0 | 90.0 | 0 |" in text
    assert "| cpu | 1.5 | 2.0 | 0.9 |" in text
    assert "No CUDA GPU here: the GPU rows were not measured." in text


def test_the_full_plan_batches_up_to_64() -> None:
    plan = Plan()
    assert (plan.image_size, plan.max_batch_size) == (224, 64)
    assert plan.concurrency >= plan.max_batch_size


@pytest.mark.slow
def test_the_gpu_wheels_stay_under_40_mb_and_install_into_a_bare_folder(tmp_path: Path) -> None:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    dest = tmp_path / "wheels"
    built = subprocess.run(
        [str(ROOT / "scripts" / "gpu-wheels.sh"), "--dest", str(dest), "--python-version", version],
        capture_output=True, text=True, timeout=600,
        env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    wheels = sorted(dest.glob("*.whl"))
    assert sum(w.stat().st_size for w in wheels) < 40_000_000
    names = {w.name.split("-")[0].lower() for w in wheels}
    assert {"modelship", "starlette", "uvicorn", "pydantic", "grpcio", "protobuf"} <= names
    assert not names & {"torch", "numpy", "onnxruntime", "tensorflow"}  # the GPU machine has them
    with zipfile.ZipFile(next(w for w in wheels if w.name.startswith("modelship-"))) as wheel:
        assert "modelship/devices.py" in wheel.namelist()
    site = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--target",
         str(site), *map(str, wheels)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    assert (site / "bin" / "modelship").is_file()
    assert (site / "starlette").is_dir()
