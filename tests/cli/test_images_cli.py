"""``modelship train images``, ``modelship predict`` on images and ``modelship demo-images``."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from modelship.data.synthetic import write_synthetic_images
from modelship.manifest import Manifest
from tests.conftest import ImageModel, RunningServer

TENSORFLOW = [
    pytest.mark.tensorflow,
    pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="no TensorFlow"),
]
MODELSHIP = str(Path(sys.executable).parent / "modelship")


def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MODELSHIP, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.parametrize("framework", ["torch", pytest.param("tensorflow", marks=TENSORFLOW)])
def test_train_images_from_a_folder(tmp_path: Path, framework: str) -> None:
    data = tmp_path / "photos"
    write_synthetic_images(data, classes=2, per_class=6, size=32, seed=4)
    done = run(
        "train", "images", "--data", str(data), "--framework", framework, "--epochs", "1",
        "--image-size", "32", "--output", str(tmp_path / "models"), "--name", "pets",
        "--version", "2", "--no-augment", "--val-fraction", "0.5",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "12 images, 2 classes" in done.stdout
    assert "validation accuracy" in done.stdout
    manifest = Manifest.read(tmp_path / "models" / "pets" / "2")
    assert manifest.framework == framework
    assert manifest.labels == ["green_square", "red_circle"]
    assert manifest.preprocessing["size"] == [32, 32]
    assert manifest.parameters["batch_size"] == 16
    assert manifest.parameters["augmentation"] == "none"
    assert manifest.parameters["val_fraction"] == 0.5
    assert manifest.data["n_val"] == 6
    refused = run("train", "images", "--data", str(tmp_path / "nowhere"), "--epochs", "1")
    assert refused.returncode == 1
    assert "not a directory" in refused.stderr


def test_predict_prints_the_class_of_each_image(
    image_server: RunningServer, image_model: ImageModel, tmp_path: Path
) -> None:
    files = list(image_model.result.dataset.files_val)[::8]  # type: ignore[attr-defined]
    # One of them as a CMYK JPEG, as some cameras and print workflows write them.
    cmyk = tmp_path / "cmyk.jpg"
    with Image.open(files[0]) as image:
        image.convert("RGB").convert("CMYK").save(cmyk)
    done = run(
        "predict", "--url", image_server.url, "--model", "shapes", str(cmyk), *map(str, files)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == len(files) + 1
    assert lines[0].startswith(f"{cmyk}: predicted class {files[0].parent.name} with confidence")
    for line, path in zip(lines[1:], files, strict=True):
        assert line.startswith(f"{path}: predicted class {path.parent.name} with confidence")
        assert 0.0 < float(line.rsplit(" ", 1)[1]) <= 1.0
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(files[0].read_bytes()[:200] if files[0].suffix == ".jpg" else b"\xff\xd8")
    failed = run("predict", "--url", image_server.url, "--model", "shapes", str(broken))
    assert failed.returncode == 1
    assert "server error 400" in failed.stderr


def test_python_client_returns_class_and_confidence_pairs(
    image_server: RunningServer, image_model: ImageModel
) -> None:
    from modelship.client import Client

    files = list(image_model.result.dataset.files_val)[:5]  # type: ignore[attr-defined]
    with Client(image_server.url) as client:
        pairs = client.classify_images("shapes", [files[0], files[1].read_bytes(), *files[2:]])
        ranked = client.top_k_images("shapes", files[:1], k=4)
    assert [name for name, _ in pairs] == [f.parent.name for f in files]
    assert all(isinstance(c, float) and 0 < c <= 1 for _, c in pairs)
    assert len(ranked[0]) == 4
    assert ranked[0][0] == pairs[0]


def test_demo_images_runs_end_to_end(tmp_path: Path) -> None:
    done = run(
        "demo-images", "--workdir", str(tmp_path), "--image-size", "32", "--epochs", "3",
        "--images", "8",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "b64 JPEG instances" in done.stdout
    lines = [line for line in done.stdout.splitlines() if line.startswith("predicted class= ")]
    assert len(lines) == 8
    # Each line names the predicted and the true class; the summary must count them right.
    right = sum(line.split()[2] == line.rsplit("true: ", 1)[1].rstrip(")") for line in lines)
    assert f"{right}/8 correct through the API" in done.stdout
    with Image.open(tmp_path / "client_predictions.png") as grid:
        assert grid.format == "PNG"
