"""The jupytext notebooks, executed cell by cell in a real kernel against a live server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import RunningServer

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")


def execute(name: str, workdir: Path, env: dict[str, str]) -> object:
    """Run ``notebooks/<name>`` in a fresh python3 kernel with ``env`` set; returns the notebook."""
    notebook = jupytext.read(NOTEBOOKS / name)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits the test's environment
    try:
        client = nbclient.NotebookClient(
            notebook,
            kernel_name="python3",
            timeout=600,
            resources={"metadata": {"path": str(workdir)}},
        )
        client.execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return notebook


def outputs(notebook: object) -> str:
    texts = []
    for cell in notebook.cells:  # type: ignore[attr-defined]
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
    return "".join(texts)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    pytest.importorskip("torch")
    workdir = tmp_path_factory.mktemp("notebook-train")
    notebook = execute(
        "train_classifier.py",
        workdir,
        {"MODELSHIP_IMAGE_SIZE": "32", "MODELSHIP_EPOCHS": "2", "MODELSHIP_MODEL": "shapes"},
    )
    return workdir, notebook


def test_train_notebook_trains_exports_and_draws(trained: tuple[Path, object]) -> None:
    workdir, notebook = trained
    text = outputs(notebook)
    assert "classes: ['blue_triangle', 'green_square', 'orange_cross', 'red_circle']" in text
    # Two epochs at 32 pixels keep the test short; the recipe's accuracy is tested elsewhere.
    accuracy = float(text.split("validation accuracy: ")[1].split()[0])
    assert 0.0 <= accuracy <= 1.0
    (version,) = (workdir / "models" / "shapes").iterdir()
    for picture in ("confusion_matrix.png", "predictions.png", "training_curve.png"):
        assert (version / picture).is_file()
    assert (workdir / "samples.png").is_file()
    images = [
        o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]  # type: ignore[attr-defined]
    assert len(images) >= 3


def test_client_notebook_prints_the_seeds_lines(
    image_server: RunningServer, tmp_path: Path
) -> None:
    notebook = execute(
        "client.py", tmp_path, {"MODELSHIP_URL": image_server.url, "MODELSHIP_MODEL": "shapes"}
    )
    text = outputs(notebook)
    lines = [line for line in text.splitlines() if line.startswith("predicted class= ")]
    assert len(lines) == 11  # ten b64 images, then the float tensor the seed's way
    correct = int(text.split(" correct")[0].rsplit("\n", 1)[1].split("/")[0])
    assert correct >= 8
    assert (tmp_path / "client_predictions.png").is_file()
