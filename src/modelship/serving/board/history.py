"""The last minutes of a worker's metrics, one snapshot a second, for the board's charts.

A thread reads the Prometheus collectors once a second (never the request path): requests and
errors per model, the latency histogram's buckets, the drift gauges. The charts are differences
between snapshots, so memory is bounded by ``seconds`` snapshots.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from modelship.serving.metrics import Metrics

__all__ = ["MetricsHistory", "Series"]

_OK = "OK"


@dataclass
class _Snapshot:
    at: float
    requests: dict[str, float] = field(default_factory=dict)
    errors: dict[str, float] = field(default_factory=dict)
    buckets: dict[str, dict[float, float]] = field(default_factory=dict)  # le -> cumulative
    drift: dict[tuple[str, str], float] = field(default_factory=dict)  # (model, version)


@dataclass
class Series:
    """One model's charts: per-second request rate, latency percentiles over ``step`` seconds,
    and each version's input drift, oldest first."""

    rate: list[float]
    p50_ms: list[float]
    p99_ms: list[float]
    drift: dict[str, list[float]]


class MetricsHistory:
    """Snapshots of ``metrics``, one per ``interval`` seconds, the last ``seconds`` kept."""

    def __init__(self, metrics: Metrics, seconds: int = 300, interval: float = 1.0) -> None:
        self.metrics = metrics
        self.interval = interval
        self._snapshots: deque[_Snapshot] = deque(maxlen=max(int(seconds / interval), 2))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Take a snapshot every interval on a daemon thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="modelship-board", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        self.snapshot()
        while not self._stop.wait(self.interval):
            self.snapshot()

    def snapshot(self) -> None:
        """Record the collectors' values now."""
        shot = _Snapshot(time.time())
        for family in self.metrics.request_families():
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    model = sample.labels["model"]
                    shot.requests[model] = shot.requests.get(model, 0.0) + sample.value
                    if sample.labels["status"] != _OK:
                        shot.errors[model] = shot.errors.get(model, 0.0) + sample.value
                elif sample.name.endswith("_bucket"):
                    buckets = shot.buckets.setdefault(sample.labels["model"], {})
                    le = float(sample.labels["le"])
                    buckets[le] = buckets.get(le, 0.0) + sample.value
        for family in self.metrics.input_drift.collect():
            for sample in family.samples:
                shot.drift[(sample.labels["model"], sample.labels["version"])] = sample.value
        self._snapshots.append(shot)

    def series(self, model: str, step: int = 5) -> Series:
        """``model``'s charts over the kept snapshots."""
        shots = list(self._snapshots)
        rate = [
            max(b.requests.get(model, 0.0) - a.requests.get(model, 0.0), 0.0) / (b.at - a.at)
            for a, b in itertools.pairwise(shots)
            if b.at > a.at
        ]
        p50, p99 = [], []
        for start in range(0, len(shots) - step, step):
            a, b = shots[start].buckets.get(model, {}), shots[start + step].buckets.get(model, {})
            counts = {le: b[le] - a.get(le, 0.0) for le in sorted(b)}
            p50.append(_quantile(counts, 0.5) * 1000)
            p99.append(_quantile(counts, 0.99) * 1000)
        versions = sorted({v for shot in shots for (m, v) in shot.drift if m == model})
        drift = {
            v: [shot.drift[(model, v)] for shot in shots if (model, v) in shot.drift]
            for v in versions
        }
        return Series(rate, p50, p99, drift)


def _quantile(cumulative: dict[float, float], q: float) -> float:
    """The ``q`` quantile of a histogram's cumulative bucket counts, interpolated within the
    bucket as Prometheus's histogram_quantile does; 0 without observations."""
    total = cumulative.get(float("inf"), 0.0)
    if total <= 0:
        return 0.0
    rank, lower, below = q * total, 0.0, 0.0
    for le, count in cumulative.items():
        if count >= rank:
            if le == float("inf"):
                return lower
            return lower + (le - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = le, count
    return lower
