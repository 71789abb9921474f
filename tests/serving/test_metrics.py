"""The server's Prometheus metrics: requests and latency by model, version, API and status;
batch sizes, queue depth, and each version's state read from the registry at scrape time."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from modelship.registry import LOADING, Registry
from modelship.serving.metrics import (
    API_GRPC,
    API_REST_TFS,
    API_REST_V2,
    Metrics,
    multiprocess_enabled,
)
from tests.fixtures.fake_runtime import FakeRuntime, serve_fake


@pytest.fixture(autouse=True)
def _single_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)


@pytest.fixture
def registry() -> Registry:
    registry = Registry()
    serve_fake(registry, FakeRuntime(), version=1)
    serve_fake(registry, FakeRuntime(), version=2).state = LOADING
    return registry


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, keyed by name and sorted labels."""
    text = metrics.render().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _labels(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def test_the_api_names() -> None:
    assert (API_REST_TFS, API_REST_V2, API_GRPC) == ("rest_tfs", "rest_v2", "grpc")


def test_each_request_is_counted_and_timed_by_model_version_api_and_status(
    registry: Registry,
) -> None:
    metrics = Metrics(registry)
    metrics.request("toy", "1", API_REST_TFS, "OK", 0.002)
    metrics.request("toy", "1", API_REST_TFS, "OK", 0.2)
    metrics.request("toy", "1", API_GRPC, "INVALID_ARGUMENT", 0.0001)
    samples = _samples(metrics)
    ok = _labels(model="toy", version="1", api="rest_tfs", status="OK")
    bad = _labels(model="toy", version="1", api="grpc", status="INVALID_ARGUMENT")
    assert samples["modelship_requests_total", ok] == 2
    assert samples["modelship_requests_total", bad] == 1
    assert samples["modelship_request_duration_seconds_count", ok] == 2
    assert samples["modelship_request_duration_seconds_sum", ok] == pytest.approx(0.202)
    bucket = "modelship_request_duration_seconds_bucket"
    ok_labels = {"model": "toy", "version": "1", "api": "rest_tfs", "status": "OK"}
    assert samples[bucket, _labels(**ok_labels, le="0.0025")] == 1
    assert samples[bucket, _labels(**ok_labels, le="0.25")] == 2


def test_requests_for_unknown_models_share_one_series_without_model_or_version(
    registry: Registry,
) -> None:
    metrics = Metrics(registry)
    for name in ("ghost", "phantom", "x" * 200):
        metrics.request(name, "7", API_REST_V2, "NOT_FOUND", 0.001)
    samples = _samples(metrics)
    anonymous = _labels(model="", version="", api="rest_v2", status="NOT_FOUND")
    assert samples["modelship_requests_total", anonymous] == 3
    models = {
        dict(labels).get("model") for name, labels in samples if name.startswith("modelship_req")
    }
    assert models == {""}


def test_without_a_registry_every_model_is_counted_by_name() -> None:
    metrics = Metrics()
    metrics.request("ghost", "1", API_GRPC, "OK", 0.01)
    samples = _samples(metrics)
    assert (
        samples[
            "modelship_requests_total", _labels(model="ghost", version="1", api="grpc", status="OK")
        ]
        == 1
    )
    assert not any(name == "modelship_model_state" for name, _ in samples)


def test_batch_sizes_and_queue_depth_per_version() -> None:
    metrics = Metrics()
    metrics.batch("toy", 1, 3)
    metrics.batch("toy", 1, 8)
    metrics.queue_depth("toy", 1, 5)
    metrics.queue_depth("toy", 1, 2)  # a gauge: the latest value
    samples = _samples(metrics)
    version = _labels(model="toy", version="1")
    assert samples["modelship_batch_size_count", version] == 2
    assert samples["modelship_batch_size_sum", version] == 11
    assert samples["modelship_batch_size_bucket", _labels(model="toy", version="1", le="4.0")] == 1
    assert samples["modelship_batch_queue_rows", version] == 2


def test_each_versions_state_is_one_for_its_state_and_zero_for_the_others(
    registry: Registry,
) -> None:
    samples = _samples(Metrics(registry))
    states = {
        (dict(labels)["version"], dict(labels)["state"]): value
        for (name, labels), value in samples.items()
        if name == "modelship_model_state"
    }
    assert states == {
        (version, state): float(state == expected)
        for version, expected in (("1", "AVAILABLE"), ("2", "LOADING"))
        for state in ("START", "LOADING", "AVAILABLE", "UNLOADING", "END")
    }


def test_states_are_read_at_scrape_time(registry: Registry) -> None:
    metrics = Metrics(registry)
    registry.model("toy").versions[2].state = "AVAILABLE"
    registry.add_model("other", Path("/m/other"))
    samples = _samples(metrics)
    key = ("modelship_model_state", _labels(model="toy", version="2", state="AVAILABLE"))
    assert samples[key] == 1


def test_two_instances_do_not_share_series() -> None:
    first, second = Metrics(), Metrics()
    first.request("toy", "1", API_GRPC, "OK", 0.01)
    assert (
        "modelship_requests_total",
        _labels(model="toy", version="1", api="grpc", status="OK"),
    ) not in _samples(second)


def test_multiprocess_mode_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert not multiprocess_enabled()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    assert not multiprocess_enabled()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert multiprocess_enabled()


def test_each_loaded_version_reports_its_runtime_and_device(registry: Registry) -> None:
    samples = _samples(Metrics(registry))
    devices = {labels: value for (name, labels), value in samples.items() if "device" in name}
    assert devices == {
        _labels(model="toy", version="1", runtime="fake", device="cpu"): 1.0,
        _labels(model="toy", version="2", runtime="fake", device="cpu"): 1.0,
    }


def test_requests_from_several_threads_are_all_counted() -> None:
    metrics = Metrics()

    def answer(count: int) -> None:
        for _ in range(count):
            metrics.request("toy", "1", API_GRPC, "OK", 0.0005)

    threads = [threading.Thread(target=answer, args=(700,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    samples = _samples(metrics)
    ok = _labels(model="toy", version="1", api="grpc", status="OK")
    assert samples["modelship_requests_total", ok] == 2100
    assert samples["modelship_request_duration_seconds_count", ok] == 2100
    bucket = "modelship_request_duration_seconds_bucket"
    # a bucket counts the values up to and including its bound
    assert (
        samples[bucket, _labels(model="toy", version="1", api="grpc", status="OK", le="0.0005")]
        == 2100
    )
