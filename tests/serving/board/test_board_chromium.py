"""The model board in a real browser: Debian's chromium, headless, opens a real server's ``/``
(sent on to the board), the rendered DOM is checked, a screenshot is kept in build/, and the
browser logs no console message."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw

from modelship.data.fingerprint import input_stats
from modelship.lifecycle.labels import LabelsFile
from modelship.manifest import Manifest
from tests.conftest import RunningServer, start_server, stop_server
from tests.deploy.devtools import HEADLESS, chromium
from tests.fixtures.toy_models import softmax_linear, write_version

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOT = ROOT / "build" / "model-board.png"
FLAGS = [
    *HEADLESS,
    "--enable-logging=stderr",
    "--v=0",
]


def _picture(path: Path, title: str) -> None:
    image = Image.new("RGB", (320, 200), "white")
    draw = ImageDraw.Draw(image)
    draw.line([(20, 180), (100, 90), (200, 60), (300, 50)], fill="navy", width=3)
    draw.text((20, 10), title, fill="black")
    image.save(path)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    base = tmp_path_factory.mktemp("repo") / "digits"
    labels = [str(i) for i in range(10)]
    model, _, _ = softmax_linear(784, 10)
    path = write_version(base, 1, model, labels=labels)
    manifest = Manifest.read(path)
    x = np.random.default_rng(0).random((500, 784), dtype=np.float32)
    manifest.data = {"fingerprint": "sha256:5e1f", "stats": input_stats(x, x[:, 0] * 0, labels)}
    manifest.metrics = {"test_accuracy": 0.97}
    manifest.created_at = "2026-11-02T09:30:00Z"
    manifest.parameters = {"epochs": 5, "batch_size": 64}
    manifest.write(path)
    _picture(path / "training_curve.png", "training curve")
    _picture(path / "confusion_matrix.png", "confusion matrix")
    history = LabelsFile()
    history.promote("stable", 1, note="validated on last week's traffic")
    history.write(base)
    flags = ["--drift_sampling_rate", "1", "--drift_min_rows", "10"]
    running = start_server(
        ["--model_name", "digits", "--model_base_path", str(base), *flags],
        "digits",
        tmp_path_factory.mktemp("server"),
    )
    try:
        rows = np.random.default_rng(1).random((60, 784)).astype(np.float32)
        with httpx.Client(base_url=running.url, timeout=10) as client:
            # traffic over a dozen of the board's one-second snapshots: latency charts need two
            # of their five-second windows to draw a line
            for second in range(12):
                body = {"instances": rows[second * 5 : second * 5 + 5].tolist()}
                assert client.post("/v1/models/digits:predict", json=body).status_code == 200
                time.sleep(1)
        yield running
    finally:
        stop_server(running)


def _browse(url: str, tmp: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={tmp}", *extra, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_board_renders_in_chromium(server: RunningServer, tmp_path: Path) -> None:
    done = _browse(server.url + "/", tmp_path / "profile-dom", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert "<title>modelship</title>" in dom  # the root sent the browser on to the board
    assert 'id="model-digits"' in dom
    assert re.search(r'<tr class="version"><td>1</td><td class="state AVAILABLE">', dom)
    assert '<span class="label">stable</span>' in dom
    polylines = re.findall(r'<polyline points="([^"]+)"', dom)
    assert len(polylines) == 4  # requests/s, p50, p99, input drift of version 1
    assert all(len(points.split()) >= 2 for points in polylines)
    assert "CONSOLE" not in done.stderr

    page = server.url + "/board/models/digits"
    done = _browse(page, tmp_path / "profile-model", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "sha256:5e1f" in done.stdout
    assert "validated on last week's traffic" in done.stdout
    assert done.stdout.count('class="picture"') == 2
    assert "CONSOLE" not in done.stderr

    SCREENSHOT.parent.mkdir(exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    shot = _browse(
        page, tmp_path / "profile-shot", f"--screenshot={SCREENSHOT}", "--window-size=1280,1400"
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    with Image.open(SCREENSHOT) as image:
        assert image.size == (1280, 1400)
        assert len(image.getcolors(1 << 16) or ()) > 16  # drawn, not a blank page
    assert "CONSOLE" not in shot.stderr


def test_an_unknown_model_is_a_404_page_in_the_browser(
    server: RunningServer, tmp_path: Path
) -> None:
    done = _browse(server.url + "/board/models/nosuch", tmp_path / "profile", "--dump-dom")
    assert 'id="missing"' in done.stdout
    assert "no model nosuch" in done.stdout
    assert httpx.get(server.url + "/board/models/nosuch").status_code == 404
