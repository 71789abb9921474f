"""Prometheus metrics: requests, latency, batch sizes, queue depth, model states and devices,
and requests that ran out of device memory.
With several worker processes (``PROMETHEUS_MULTIPROC_DIR``) a scrape reports the sum over
all workers; label children are looked up once and cached, so recording is cheap.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from modelship.errors import ModelshipError
from modelship.registry import Registry
from modelship.serving.statistics import InferenceStatistics, VersionStatistics

__all__ = ["API_GRPC", "API_REST_TFS", "API_REST_V2", "CONTENT_TYPE_LATEST", "Metrics"]

API_REST_TFS = "rest_tfs"
API_REST_V2 = "rest_v2"
API_GRPC = "grpc"

_LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
_STATES = ("START", "LOADING", "AVAILABLE", "UNLOADING", "END")


def multiprocess_enabled() -> bool:
    """Whether this process writes its metrics to the supervisor's shared directory."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class _ModelStates(Collector):
    """``modelship_model_state``: 1 for each version's current state, 0 for the others;
    ``modelship_model_device``: 1 for the runtime and device each loaded version computes on."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "modelship_model_state",
            "State of each model version (1 = the version is in that state)",
            labels=["model", "version", "state"],
        )
        for entry in self._registry.models():
            for served in list(entry.versions.values()):
                for state in _STATES:
                    value = 1.0 if served.state == state else 0.0
                    family.add_metric([entry.name, str(served.version), state], value)
        yield family
        devices = GaugeMetricFamily(
            "modelship_model_device",
            "The runtime and device each loaded version computes on (always 1)",
            labels=["model", "version", "runtime", "device"],
        )
        for entry in self._registry.models():
            for served in list(entry.versions.values()):
                runtime = served.runtime
                if runtime is not None:
                    device = str(getattr(runtime, "device", "cpu"))
                    labels = [entry.name, str(served.version), runtime.name, device]
                    devices.add_metric(labels, 1.0)
        yield devices


class Metrics:
    """The server's metrics; one instance per worker process."""

    def __init__(self, registry: Registry | None = None) -> None:
        self._own = CollectorRegistry(auto_describe=True)
        self._model_registry = registry
        self.requests = Counter(
            "modelship_requests",
            "Inference requests by model, version, API and canonical status code",
            ["model", "version", "api", "status"],
            registry=self._own,
        )
        self.latency = Histogram(
            "modelship_request_duration_seconds",
            "Time from a request's arrival to its answer, by model, version, API and status",
            ["model", "version", "api", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self._own,
        )
        self.batch_size = Histogram(
            "modelship_batch_size",
            "Rows in each batch sent to a runtime (before padding)",
            ["model", "version"],
            buckets=_BATCH_BUCKETS,
            registry=self._own,
        )
        self.queue = Gauge(
            "modelship_batch_queue_rows",
            "Rows waiting in the batch queue",
            ["model", "version"],
            registry=self._own,
            multiprocess_mode="livesum",
        )
        self.device_out_of_memory = Counter(
            "modelship_device_out_of_memory",
            "Requests that failed because the device ran out of memory, by model and version",
            ["model", "version"],
            registry=self._own,
        )
        # Drift of live inputs and predictions against training (modelship.serving.drift);
        # with several workers a scrape shows the worst worker's window.
        self.input_drift = Gauge(
            "modelship_input_drift",
            "Share of input features whose population stability index against the training "
            "histogram passes 0.25, over the last sampled rows",
            ["model", "version"],
            registry=self._own,
            multiprocess_mode="livemax",
        )
        self.prediction_drift = Gauge(
            "modelship_prediction_drift",
            "Population stability index of the predicted classes against those predicted on "
            "the test split, over the last sampled rows",
            ["model", "version"],
            registry=self._own,
            multiprocess_mode="livemax",
        )
        self.nonfinite_inputs = Counter(
            "modelship_input_nonfinite_values",
            "NaN or infinite values in sampled inputs",
            ["model", "version"],
            registry=self._own,
        )
        self.request_log_dropped_records = Counter(
            "modelship_request_log_dropped",
            "Sampled request log records that could not be written (disk full, unwritable "
            "filename_prefix)",
            ["model"],
            registry=self._own,
        )
        # Triton's statistics extension reads these; recorded with the same cached lookup.
        self.statistics = InferenceStatistics()
        self._request_children: dict[
            tuple[str, str, str, str], tuple[Any, Any, VersionStatistics | None]
        ] = {}
        self._batch_children: dict[tuple[str, int], Any] = {}
        self._queue_children: dict[tuple[str, int], Any] = {}

    def request(self, model: str, version: str, api: str, status: str, seconds: float) -> None:
        """Count one answered request and its latency."""
        key = (model, version, api, status)
        children = self._request_children.get(key)
        if children is None:
            record = None
            if not self._known(model):
                # Names come from clients: never let them create unbounded label series.
                key = ("", "", api, status)
            elif version.isdigit():
                record = self.statistics.record(model, int(version))
            children = (self.requests.labels(*key), self.latency.labels(*key), record)
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        if children[2] is not None:
            children[2].add(status == "OK", seconds)

    def _known(self, model: str) -> bool:
        if self._model_registry is None:
            return True
        try:
            self._model_registry.model(model)
        except ModelshipError:
            return False
        return True

    def out_of_memory(self, model: str, version: str) -> None:
        """Count one request that failed for lack of device memory."""
        self.device_out_of_memory.labels(model, version).inc()

    def batch(self, model: str, version: int, rows: int) -> None:
        """Record one batch's size (called from batch threads)."""
        child = self._batch_children.get((model, version))
        if child is None:
            child = self.batch_size.labels(model, str(version))
            self._batch_children[(model, version)] = child
        child.observe(rows)

    def queue_depth(self, model: str, version: int, rows: int) -> None:
        """Set the rows waiting for one version."""
        child = self._queue_children.get((model, version))
        if child is None:
            child = self._queue_children[(model, version)] = self.queue.labels(model, str(version))
        child.set(rows)

    def drift(self, kind: str, model: str, version: int, value: float) -> None:
        """Set the ``input`` or ``prediction`` drift of one version (from the tap's thread)."""
        gauge = self.input_drift if kind == "input" else self.prediction_drift
        gauge.labels(model, str(version)).set(value)

    def nonfinite_input(self, model: str, version: int, values: int) -> None:
        """Count NaN or infinite values seen in one version's sampled inputs."""
        self.nonfinite_inputs.labels(model, str(version)).inc(values)

    def request_log_dropped(self, model: str) -> None:
        """Count one request log record that could not be written."""
        self.request_log_dropped_records.labels(model).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric (all workers' when there are several)."""
        if multiprocess_enabled():
            scrape = CollectorRegistry()
            multiprocess.MultiProcessCollector(scrape)  # type: ignore[no-untyped-call]
        else:
            scrape = self._own
        text = generate_latest(scrape)
        if self._model_registry is not None:
            states = CollectorRegistry()
            states.register(_ModelStates(self._model_registry))
            text += generate_latest(states)
        return text
