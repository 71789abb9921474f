"""The model board in process: pages from the same data as the APIs, charts from the metrics
history, pictures from the version, 404 pages, and off by the flag."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from modelship.lifecycle.config import ModelConfig, RequestLogging
from modelship.lifecycle.labels import LabelsFile
from modelship.registry import Registry
from modelship.serving.board.charts import chart
from modelship.serving.board.history import MetricsHistory, _quantile
from modelship.serving.dataplane import DataPlane
from modelship.serving.executor import ThreadExecutor
from modelship.serving.metrics import Metrics
from modelship.serving.requestlog import RequestLogger
from modelship.serving.rest.app import build_app
from modelship.serving.tap import RequestTap
from tests.fixtures.fake_runtime import FakeRuntime, serve_fake


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """``toy``'s base path: a training curve in version 1, labels with a history."""
    base = tmp_path / "toy"
    (base / "1").mkdir(parents=True)
    Image.new("RGB", (40, 30), "white").save(base / "1" / "training_curve.png")
    labels = LabelsFile()
    labels.promote("stable", 1, note="passed validation on the March data")
    labels.write(base)
    return base


def _app(repo: Path, board: bool = True) -> tuple[Any, Registry]:
    registry = Registry()
    served = serve_fake(registry, FakeRuntime(), model="toy")
    served.path = repo / "1"
    registry.model("toy").base_path = repo
    registry.model("toy").labels = {"stable": 1}
    assert served.manifest is not None
    served.manifest.metrics = {"test_accuracy": 0.93}
    served.manifest.data = {"fingerprint": "sha256:abc"}
    dataplane = DataPlane(registry, ThreadExecutor(threads=1), Metrics(registry))
    return build_app(dataplane, max_body_bytes=4096, board=board), registry


def app_dataplane(app: Any) -> DataPlane:
    """The dataplane under the app's outer layers (redirect, fast path)."""
    inner = app
    while not hasattr(inner, "dataplane"):
        inner = inner.app if hasattr(inner, "app") else inner.__closure__[0].cell_contents
    dataplane: DataPlane = inner.dataplane
    return dataplane


def _get(app: Any, path: str, **headers: str) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://m") as client:
            return await client.get(path, headers=headers)

    return asyncio.run(run())


@pytest.fixture
def app(repo: Path) -> Any:
    return _app(repo)[0]


def test_the_index_lists_models_versions_labels_and_charts(app: Any) -> None:
    page = _get(app, "/board")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert 'id="model-toy"' in html
    assert 'class="state AVAILABLE">AVAILABLE' in html
    assert '<span class="label">stable</span>' in html
    assert html.count("<svg") == 3  # rate, p50, p99 (no drift gauge without statistics)


def test_the_model_page_shows_lineage_history_and_pictures(app: Any, repo: Path) -> None:
    html = _get(app, "/board/models/toy").text
    assert "sha256:abc" in html
    assert "test_accuracy 0.93" in html
    assert "passed validation on the March data" in html
    assert 'src="/board/models/toy/versions/1/training_curve.png"' in html
    assert str(repo) not in html  # no file system path
    picture = _get(app, "/board/models/toy/versions/1/training_curve.png")
    assert picture.status_code == 200
    assert picture.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    "path",
    [
        "/board/models/nosuch",
        "/board/models/toy/versions/1/confusion_matrix.png",  # not in this version
        "/board/models/toy/versions/1/modelship.json",  # not a picture
        "/board/models/toy/versions/9/training_curve.png",
    ],
)
def test_what_is_not_there_is_a_404_page(app: Any, path: str) -> None:
    page = _get(app, path)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert 'id="missing"' in page.text


def test_browsers_at_the_root_go_to_the_board_and_api_clients_do_not(app: Any) -> None:
    browser = _get(app, "/", accept="text/html,application/xhtml+xml")
    assert browser.status_code == 307
    assert browser.headers["location"] == "/board"
    assert _get(app, "/").json() == {"status": "alive"}


def test_the_board_is_off_by_flag(repo: Path) -> None:
    app, _ = _app(repo, board=False)
    assert _get(app, "/board").status_code == 404
    assert _get(app, "/board").headers["content-type"] == "application/json"
    assert _get(app, "/", accept="text/html").json() == {"status": "alive"}


def test_the_history_turns_counters_into_rates_and_percentiles() -> None:
    metrics = Metrics()
    history = MetricsHistory(metrics, seconds=60)
    history.snapshot()
    for seconds in (0.002,) * 98 + (0.3, 0.3):
        metrics.request("toy", "1", "rest", "OK", seconds)
    history._snapshots[-1].at -= 5  # as if the next snapshot came five seconds later
    history.snapshot()
    series = history.series("toy", step=1)
    assert series.rate == [pytest.approx(20.0, rel=0.01)]
    assert 1.0 < series.p50_ms[0] <= 2.5
    assert 250 < series.p99_ms[0] <= 500
    assert _quantile({0.1: 0.0, float("inf"): 0.0}, 0.5) == 0.0


def test_charts_scale_to_their_values() -> None:
    drawn = chart([0.0, 1.0, 2.0])
    assert drawn.points == "0.0,46.0 120.0,24.0 240.0,2.0"
    assert (drawn.last, drawn.top, drawn.count) == (2.0, 2.0, 3)
    assert chart([], 1.0).points == ""


def test_the_model_page_says_when_the_request_log_cannot_be_written(
    repo: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("where the log directory should be")
    app, _ = _app(repo)
    dataplane = app_dataplane(app)
    logging = RequestLogging(str(blocker / "toy"), 1.0)
    configs = [ModelConfig("toy", repo, logging=logging)]
    tap = dataplane.tap = RequestTap([RequestLogger(dataplane.metrics, lambda: configs)])
    try:

        async def predict() -> int:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://m") as client:
                body = {"instances": [[1.0, 2.0, 3.0]]}
                return (await client.post("/v1/models/toy:predict", json=body)).status_code

        assert asyncio.run(predict()) == 200
        tap.drain()
        html = _get(app, "/board/models/toy").text
        assert 'id="request-log"' in html
        assert re.search(r"0 written,\s+1 dropped", html)
        assert "File exists" in html  # the prefix's directory is a file
        assert str(blocker) not in html
    finally:
        tap.close()
