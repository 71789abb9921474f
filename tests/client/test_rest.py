from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from modelship.client import AsyncClient, Client, ServerError, top_class
from tests.conftest import RunningServer, ToyModel
from tests.fixtures.toy_models import reference_softmax_linear

X = np.random.default_rng(7).random((3, 784), dtype=np.float32)


def test_client_status_metadata_predict(toy_server: RunningServer, toy_model: ToyModel) -> None:
    with Client(toy_server.url) as client:
        assert client.status("toy")[0]["state"] == "AVAILABLE"
        meta = client.metadata("toy", version=1)
        assert meta["model_spec"]["version"] == "1"
        rows = client.predict("toy", X)
        cols = client.predict("toy", inputs={"images": X}, version=1)
    expected = reference_softmax_linear(X, toy_model.weight, toy_model.bias)
    np.testing.assert_allclose(rows, expected, atol=1e-5)
    np.testing.assert_allclose(cols, expected, atol=1e-5)


def test_client_raises_server_errors(toy_server: RunningServer) -> None:
    with Client(toy_server.url) as client, pytest.raises(ServerError) as info:
        client.predict("missing", X)
    assert info.value.status == 404
    assert "missing" in info.value.message


def test_async_client(toy_server: RunningServer, toy_model: ToyModel) -> None:
    async def run() -> list[object]:
        async with AsyncClient(toy_server.url) as client:
            return list(
                await asyncio.gather(*(client.predict("toy", X[i : i + 1]) for i in range(3)))
            )

    answers = asyncio.run(run())
    expected = reference_softmax_linear(X, toy_model.weight, toy_model.bias)
    for i, answer in enumerate(answers):
        np.testing.assert_allclose(answer, expected[i : i + 1], atol=1e-5)


def test_top_class_is_the_seeds_pair() -> None:
    assert top_class([[0.1, 0.7, 0.2]], ["a", "b", "c"]) == [("b", pytest.approx(0.7))]


def test_predict_command_reads_images_npy_and_json(
    toy_server: RunningServer, toy_model: ToyModel, tmp_path: Path
) -> None:
    image = tmp_path / "digit.png"
    Image.fromarray((X[0].reshape(28, 28) * 255).astype(np.uint8)).save(image)
    np.save(tmp_path / "batch.npy", X[:2])
    (tmp_path / "one.json").write_text(json.dumps(X[2].tolist()))
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "modelship"), "predict",
            "--url", toy_server.url, "--model", "toy",
            str(image), str(tmp_path / "batch.npy"), str(tmp_path / "one.json"),
        ],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    expected = reference_softmax_linear(X, toy_model.weight, toy_model.bias).argmax(axis=1)
    lines = [
        line for line in done.stdout.splitlines() if "batch.npy[" in line or "one.json" in line
    ]
    assert len(lines) == 3
    for line, cls in zip(lines, [expected[0], expected[1], expected[2]], strict=True):
        assert f"class{cls}" in line


def test_classify_names_classes_with_the_versions_labels(
    toy_server: RunningServer, toy_model: ToyModel
) -> None:
    with Client(toy_server.url) as client:
        named = client.classify("toy", X)
        given = client.classify("toy", X, ["zero", *[str(i) for i in range(1, 10)]])
    expected = reference_softmax_linear(X, toy_model.weight, toy_model.bias).argmax(axis=1)
    assert [name for name, _ in named] == [f"class{i}" for i in expected]
    names = ["zero", *map(str, range(1, 10))]
    assert [name for name, _ in given] == [names[i] for i in expected]
