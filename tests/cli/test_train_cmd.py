"""``modelship train`` as users run it: a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from modelship.data.idx import write_idx
from modelship.data.mnist import MNIST_FILES
from modelship.manifest import Manifest

MODELSHIP = str(Path(sys.executable).parent / "modelship")


def _tiny_mnist(directory: Path) -> None:
    rng = np.random.default_rng(0)
    sizes = {"x_train": 40, "y_train": 40, "x_test": 20, "y_test": 20}
    for role, stem in MNIST_FILES.items():
        n = sizes[role]
        if role.startswith("x"):
            array = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        else:
            array = (np.arange(n) % 10).astype(np.uint8)
        write_idx(directory / stem, array)


def _train(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MODELSHIP, "train", "mnist", "--framework", "torch", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


def test_train_on_idx_files_then_refuse_the_same_version(tmp_path: Path) -> None:
    data, output = tmp_path / "data", tmp_path / "models"
    data.mkdir()
    _tiny_mnist(data)
    args = ["--epochs", "2", "--data", str(data), "--output", str(output), "--version", "3"]

    done = _train(*args)
    assert done.returncode == 0, done.stderr
    assert f"MNIST IDX files in {data}" in done.stdout
    assert "epoch 2/2" in done.stdout
    assert "test_accuracy" in done.stdout
    assert str(output / "mnist" / "3") in done.stdout
    manifest = Manifest.read(output / "mnist" / "3")
    assert manifest.data["name"] == "mnist"
    assert manifest.data["n_train"] == 40
    assert len(manifest.metrics["history"]) == 2

    again = _train(*args)
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert "epoch" not in again.stdout, "it should refuse before training"


def test_unknown_framework_is_a_clear_error(tmp_path: Path) -> None:
    done = _train("--framework", "jax", "--output", str(tmp_path))
    assert done.returncode == 1
    assert "no recipe 'mnist' for framework 'jax'" in done.stderr
    assert not (tmp_path / "mnist").exists()
