"""Live drift in process: sampled requests against the training statistics in modelship.json,
through the REST app (JSON report, Prometheus gauges) and the dataplane (NaN and Infinity)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from modelship.data.fingerprint import input_stats
from modelship.manifest import Manifest
from modelship.registry import Registry
from modelship.serving.dataplane import DataPlane
from modelship.serving.drift import DriftMonitor, DriftReference, _Window, psi
from modelship.serving.executor import ThreadExecutor
from modelship.serving.inference import InferenceRequest, ModelSpec
from modelship.serving.metrics import Metrics
from modelship.serving.rest.app import build_app
from modelship.serving.tap import RequestTap, Sample
from tests.fixtures.fake_runtime import FakeRuntime, serve_fake

LABELS = ["a", "b", "c"]


def _training_stats(rng: np.random.Generator) -> dict[str, Any]:
    """Statistics of 3 uniform features in [0, 1], and the classes 2x's argmax picks."""
    x = rng.uniform(0.0, 1.0, size=(3000, 3)).astype(np.float32)
    y = np.argmax(x, axis=1)
    stats = input_stats(x, y, LABELS)
    stats["predicted_class_counts"] = dict(zip(LABELS, np.bincount(y).tolist(), strict=True))
    return stats


@pytest.fixture
def served() -> Iterator[tuple[Any, DataPlane, RequestTap]]:
    registry = Registry()
    with_stats = serve_fake(registry, FakeRuntime(), model="toy")
    assert with_stats.manifest is not None
    with_stats.manifest.data = {"stats": _training_stats(np.random.default_rng(0))}
    serve_fake(registry, FakeRuntime(), model="bare")
    metrics = Metrics(registry)
    executor = ThreadExecutor(threads=1)
    dataplane = DataPlane(registry, executor, metrics)
    tap = RequestTap([DriftMonitor(metrics, sampling_rate=1.0, window=300, min_rows=100)])
    dataplane.tap = tap
    yield build_app(dataplane, max_body_bytes=1 << 20), dataplane, tap
    tap.close()
    executor.close()


def _send(app: Any, requests: list[tuple[str, str, Any]]) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://modelship") as client:
            return [await client.request(m, p, json=body) for m, p, body in requests]

    return asyncio.run(run())


def _predict(app: Any, model: str, rows: np.ndarray[Any, Any]) -> None:
    calls = [("POST", f"/v1/models/{model}:predict", {"instances": chunk.tolist()})
             for chunk in np.array_split(rows, max(len(rows) // 10, 1))]  # fmt: skip
    assert all(answer.status_code == 200 for answer in _send(app, calls))


def _report(app: Any, model: str) -> dict[str, Any]:
    (answer,) = _send(app, [("GET", f"/monitoring/drift/{model}", None)])
    assert answer.status_code == 200
    (entry,) = answer.json()["versions"]
    return entry  # type: ignore[no-any-return]


def _gauge(app: Any, name: str, model: str) -> float | None:
    (answer,) = _send(app, [("GET", "/metrics", None)])
    for line in answer.text.splitlines():
        if line.startswith(f'{name}{{model="{model}",version="1"}}'):
            return float(line.split()[-1])
    return None


def test_in_distribution_traffic_shows_no_drift_and_shifted_traffic_does(served: Any) -> None:
    app, _, tap = served
    rng = np.random.default_rng(1)
    _predict(app, "toy", rng.uniform(0.0, 1.0, size=(300, 3)))
    tap.drain()
    entry = _report(app, "toy")
    assert entry["input"]["statistics"] is True
    assert entry["input"]["rows"] == 300
    assert entry["input"]["drifted_feature_share"] == 0.0
    assert entry["input"]["out_of_range_share"] == 0.0
    assert entry["prediction"]["class_psi"] < 0.1
    assert _gauge(app, "modelship_input_drift", "toy") == 0.0
    calm = _gauge(app, "modelship_prediction_drift", "toy")
    assert calm is not None
    assert calm < 0.1

    # Every value beyond the training range, and one feature always the largest.
    shifted = rng.uniform(0.0, 1.0, size=(300, 3)) + np.array([3.0, 1.5, 1.5])
    _predict(app, "toy", shifted)
    tap.drain()
    entry = _report(app, "toy")
    assert entry["input"]["drifted_feature_share"] == 1.0
    assert entry["input"]["out_of_range_share"] == 1.0
    assert entry["prediction"]["predicted"] == {"a": 300, "b": 0, "c": 0}
    assert entry["prediction"]["class_psi"] > 1.0
    assert _gauge(app, "modelship_input_drift", "toy") == 1.0
    drifted = _gauge(app, "modelship_prediction_drift", "toy")
    assert drifted is not None
    assert drifted > 1.0


def test_too_few_rows_are_reported_as_such_not_as_zero(served: Any) -> None:
    app, _, tap = served
    _predict(app, "toy", np.full((20, 3), 0.5))
    tap.drain()
    entry = _report(app, "toy")
    assert entry["input"]["rows"] == 20
    assert "drifted_feature_share" not in entry["input"]
    assert "fewer than 100" in entry["input"]["reason"]
    assert _gauge(app, "modelship_input_drift", "toy") is None


def test_a_version_without_training_statistics_says_so(served: Any) -> None:
    app, _, tap = served
    _predict(app, "bare", np.full((200, 3), 0.5))
    tap.drain()
    entry = _report(app, "bare")
    assert entry["input"] == {
        "statistics": False,
        "reason": "modelship.json records no training statistics (data.stats)",
    }
    assert entry["prediction"]["statistics"] is False
    assert _gauge(app, "modelship_input_drift", "bare") is None
    assert _gauge(app, "modelship_prediction_drift", "bare") is None


def test_unknown_model_is_a_404(served: Any) -> None:
    app, _, _ = served
    (answer,) = _send(app, [("GET", "/monitoring/drift/nosuch", None)])
    assert answer.status_code == 404
    assert "nosuch" in answer.json()["error"]


def test_nan_and_infinity_are_counted_and_the_request_answered(served: Any) -> None:
    app, dataplane, tap = served
    rows = np.array([[np.nan, 0.5, np.inf], [0.1, -np.inf, 0.2]], dtype=np.float32)
    request = InferenceRequest({"x": rows})
    response = asyncio.run(dataplane.infer(ModelSpec("toy"), request, "test"))
    assert response.outputs["probabilities"].shape == (2, 3)
    tap.drain()
    assert _report(app, "toy")["input"]["nonfinite_values"] == 3
    (answer,) = _send(app, [("GET", "/metrics", None)])
    assert 'modelship_input_nonfinite_values_total{model="toy",version="1"} 3.0' in answer.text


def test_the_tap_drops_the_oldest_samples_when_its_thread_falls_behind() -> None:
    metrics = Metrics()
    tap = RequestTap([DriftMonitor(metrics, sampling_rate=1.0)], queue_samples=2)
    tap.close()  # no thread left to drain: every offer beyond two waits, then goes
    for version in range(1, 6):
        tap.offer("toy", version, None, "serving_default", {}, {})
    assert tap.dropped == 3
    assert [s.version for s in tap._queue] == [4, 5]


def test_sampling_rate_zero_takes_nothing() -> None:
    monitor = DriftMonitor(Metrics(), sampling_rate=0.0)
    tap = RequestTap([monitor])
    tap.close()
    tap.offer("toy", 1, None, "serving_default", {}, {})
    assert not tap._queue


def test_references_without_histograms_and_psi() -> None:
    manifest = Manifest(name="m", framework="f", signatures={}, data={"stats": {"min": 0.0}})
    reference = DriftReference.from_manifest(manifest)
    assert reference.features is None
    assert "no feature histograms" in reference.missing
    assert DriftReference.from_manifest(None).missing == "the version has no modelship.json"
    same = np.array([0.25, 0.25, 0.5])
    assert float(psi(same, same)) == 0.0
    assert float(psi(same, np.array([0.5, 0.25, 0.25]))) > 0.3


def test_a_monitor_bug_does_not_stop_the_tap() -> None:
    class Broken:
        def sampling_rate(self, model: str) -> float:
            return 1.0

        def consume(self, sample: Sample) -> None:
            raise RuntimeError("bug")

        def flush(self, force: bool) -> None:
            raise RuntimeError("bug")

        def close(self) -> None:
            pass

    seen: list[Sample] = []

    class Recorder(Broken):
        def consume(self, sample: Sample) -> None:
            seen.append(sample)

    tap = RequestTap([Broken(), Recorder()])
    tap.close()
    tap.offer("toy", 1, None, "serving_default", {}, {})
    tap.drain()
    assert len(seen) == 1


def test_the_window_holds_the_last_one_or_two_buckets_of_rows() -> None:
    rng = np.random.default_rng(2)
    stats = _training_stats(rng)
    manifest = Manifest(name="m", framework="f", signatures={}, labels=LABELS)
    manifest.data = {"stats": stats}
    window = _Window(DriftReference.from_manifest(manifest), rows=10)  # buckets of 5 rows
    sent, classes = [], []
    for size in (3, 1, 4, 7, 2):  # 17 rows: buckets 1-5, 6-10, 11-15, then 16-17 so far
        rows = rng.uniform(-0.5, 1.5, size=(size, 3)).astype(np.float32)
        scores = rng.random((size, 3))
        window.pending_inputs.append(rows)
        window.pending_scores.append(scores)
        window.absorb()
        sent.append(rows)
        classes.append(np.argmax(scores, axis=1))
    last = np.concatenate(sent)[-7:]
    edges = np.linspace(stats["min"], stats["max"], 11)[1:-1]
    expected = [np.bincount(np.digitize(last[:, f], edges), minlength=10) for f in range(3)]
    assert window.input_rows == 7
    assert window.counts.reshape(3, 10).tolist() == np.array(expected).tolist()
    assert window.class_rows == 7
    predicted = np.concatenate(classes)[-7:]
    assert window.class_counts.tolist() == np.bincount(predicted, minlength=3).tolist()
    low, high = stats["min"], stats["max"]
    margin = 0.01 * (high - low)
    outside = int(np.count_nonzero((last < low - margin) | (last > high + margin)))
    assert window.input_summary()["out_of_range_share"] == round(outside / 21, 4)
