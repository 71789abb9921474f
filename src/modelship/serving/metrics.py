"""Prometheus metrics: requests, latency, batch sizes, queue depth, model states and devices,
and requests that ran out of device memory.
With several worker processes (``PROMETHEUS_MULTIPROC_DIR``) a scrape reports the sum over
all workers; label children are looked up once and cached, so recording is cheap.
"""

from __future__ import annotations

import os
import threading
from bisect import bisect_left
from collections import deque
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
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
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
_LOOP_LAG_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip
# Requests queued before they are counted (see _RequestSeries): bounds memory, and the work
# one request does when it finds the queue full.
_MAX_PENDING = 256
_REQUEST_LABELS = ["model", "version", "api", "status"]
_REQUESTS_HELP = "Inference requests by model, version, API and canonical status code"
_LATENCY_HELP = "Time from a request's arrival to its answer, by model, version, API and status"
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


class _RequestSeries(Collector):
    """``modelship_requests_total`` and ``modelship_request_duration_seconds`` of one process.

    A request only appends to a queue (one atomic ``deque.append``); the queue is counted into
    plain per-series totals at a scrape or when it fills. prometheus_client's Counter and
    Histogram take three locks and a Python loop over the buckets per request, a fifth of a
    small model's predict on the event loop (benchmarks/results/PROFILE.md).
    """

    def __init__(self) -> None:
        self.pending: deque[tuple[tuple[str, str, str, str], float]] = deque()
        # series key -> [count, sum of seconds, count per bucket (the last one: +Inf)]
        self._series: dict[tuple[str, str, str, str], list[Any]] = {}
        self._lock = threading.Lock()

    def add(self, key: tuple[str, str, str, str], seconds: float) -> None:
        pending = self.pending
        pending.append((key, seconds))
        if len(pending) >= _MAX_PENDING:
            self.count()

    def count(self) -> None:
        """Move the queued requests into the totals (any thread; one at a time)."""
        with self._lock:
            pending, series = self.pending, self._series
            while pending:
                key, seconds = pending.popleft()
                totals = series.get(key)
                if totals is None:
                    totals = series[key] = [0, 0.0, [0] * (len(_LATENCY_BUCKETS) + 1)]
                totals[0] += 1
                totals[1] += seconds
                totals[2][bisect_left(_LATENCY_BUCKETS, seconds)] += 1

    def collect(self) -> Iterator[Metric]:
        self.count()
        requests = CounterMetricFamily("modelship_requests", _REQUESTS_HELP, labels=_REQUEST_LABELS)
        latency = HistogramMetricFamily(
            "modelship_request_duration_seconds", _LATENCY_HELP, labels=_REQUEST_LABELS
        )
        bounds = [*(repr(b) for b in _LATENCY_BUCKETS), "+Inf"]  # "0.0005", "1.0", ...
        with self._lock:
            snapshot = [
                (key, count, total, list(b)) for key, (count, total, b) in self._series.items()
            ]
        for key, count, total, buckets in snapshot:
            requests.add_metric(list(key), count)
            cumulative, running = [], 0
            for bound, n in zip(bounds, buckets, strict=True):
                running += n
                cumulative.append((bound, running))
            latency.add_metric(list(key), cumulative, total)
        yield requests
        yield latency


class Metrics:
    """The server's metrics; one instance per worker process."""

    def __init__(self, registry: Registry | None = None) -> None:
        self._own = CollectorRegistry(auto_describe=True)
        self._model_registry = registry
        # Several processes add up through prometheus_client's shared files; one counts alone.
        self._series: _RequestSeries | None = None
        if multiprocess_enabled():
            self.requests = Counter(
                "modelship_requests", _REQUESTS_HELP, _REQUEST_LABELS, registry=self._own
            )
            self.latency = Histogram(
                "modelship_request_duration_seconds",
                _LATENCY_HELP,
                _REQUEST_LABELS,
                buckets=_LATENCY_BUCKETS,
                registry=self._own,
            )
        else:
            self._series = _RequestSeries()
            self._own.register(self._series)
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
        self.event_loop_lag = Histogram(
            "modelship_event_loop_lag_seconds",
            "How late the event loop ran a timer callback (sampled every 0.1 s); a long lag "
            "delays every request of the process alike",
            buckets=_LOOP_LAG_BUCKETS,
            registry=self._own,
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
        # request key -> (its series' key, counter and histogram children when several
        # processes share files, the version's statistics record)
        self._request_children: dict[
            tuple[str, str, str, str],
            tuple[tuple[str, str, str, str], Any, Any, VersionStatistics | None],
        ] = {}
        self._batch_children: dict[tuple[str, int], Any] = {}
        self._queue_children: dict[tuple[str, int], Any] = {}

    def request_families(self) -> list[Metric]:
        """The request counter's and latency histogram's families of this process, however
        they are kept (plain totals alone, prometheus_client's shared files with workers)."""
        if self._series is not None:
            return list(self._series.collect())
        return [*self.requests.collect(), *self.latency.collect()]

    def request(
        self,
        model: str,
        version: str,
        api: str,
        status: str,
        seconds: float,
        input_ns: int = 0,
        output_ns: int = 0,
    ) -> None:
        """Count one answered request and its latency (``input_ns``/``output_ns``: the time
        before and after its inference, for the statistics extension)."""
        key = (model, version, api, status)
        children = self._request_children.get(key)
        if children is None:
            children = self._children(key)
        series_key, counter, histogram, record = children
        if record is not None:
            record.add(status == "OK", seconds, input_ns, output_ns)
        if self._series is not None:
            self._series.add(series_key, seconds)
        else:
            counter.inc()
            histogram.observe(seconds)

    def _children(
        self, key: tuple[str, str, str, str]
    ) -> tuple[tuple[str, str, str, str], Any, Any, VersionStatistics | None]:
        model, version, api, status = key
        record = None
        series_key = key
        if not self._known(model):
            # Names come from clients: never let them create unbounded label series (nor
            # cache entries: an unknown name is looked up again next time).
            series_key = ("", "", api, status)
        elif version.isdigit():
            record = self.statistics.record(model, int(version))
        counter = histogram = None
        if self._series is None:
            counter, histogram = self.requests.labels(*series_key), self.latency.labels(*series_key)
        children = (series_key, counter, histogram, record)
        if series_key is key:
            self._request_children[key] = children
        return children

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

    def loop_lag(self, seconds: float) -> None:
        """Record one event-loop lag sample (on the loop)."""
        self.event_loop_lag.observe(seconds)

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
