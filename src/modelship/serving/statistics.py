"""Per-version inference statistics, kept beside the Prometheus metrics for the Open Inference
Protocol's statistics extension (Triton's ``/v2/models/{m}/stats``): counts and cumulative
durations of successful and failed requests and of their phases, in this worker process.

Every add runs on the event loop's thread (executors hand their timings back to it), so plain
integer adds need no lock."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["Duration", "InferenceStatistics", "VersionStatistics"]


@dataclass(slots=True)
class Duration:
    """How many calls, and their total time in nanoseconds."""

    count: int = 0
    ns: int = 0


@dataclass(slots=True)
class VersionStatistics:
    """One model version's record; ``last_inference`` in milliseconds since the epoch."""

    success: Duration = field(default_factory=Duration)
    fail: Duration = field(default_factory=Duration)
    # The phases of successful requests, as Triton splits them: reading, decoding and
    # conforming the inputs; waiting for the runtime; the runtime's call; shaping the answer.
    compute_input: Duration = field(default_factory=Duration)
    queue: Duration = field(default_factory=Duration)
    compute_infer: Duration = field(default_factory=Duration)
    compute_output: Duration = field(default_factory=Duration)
    last_inference: int = 0
    # Rows inferred (Triton's inference_count) and runtime calls (a merged batch counts once).
    inference_count: int = 0
    execution_count: int = 0
    # Batch size -> runtime calls of that size and their compute time.
    batches: dict[int, Duration] = field(default_factory=dict)

    def add(self, ok: bool, seconds: float, input_ns: int = 0, output_ns: int = 0) -> None:
        """One answered request; ``input_ns``/``output_ns`` are its phases around inference."""
        duration = self.success if ok else self.fail
        duration.count += 1
        duration.ns += int(seconds * 1e9)
        if ok:
            self.compute_input.count += 1
            self.compute_input.ns += input_ns
            self.compute_output.count += 1
            self.compute_output.ns += output_ns
        self.last_inference = time.time_ns() // 1_000_000

    def inferred(self, rows: int, queue_ns: int, compute_ns: int) -> None:
        """One request's ``rows`` computed after ``queue_ns`` waiting, in a runtime call that
        took ``compute_ns``."""
        self.inference_count += rows
        self.queue.count += 1
        self.queue.ns += queue_ns
        self.compute_infer.count += 1
        self.compute_infer.ns += compute_ns

    def ran_alone(self, rows: int, queue_ns: int, compute_ns: int) -> None:
        """One request's ``rows`` computed in a runtime call of their own (no batching):
        :meth:`inferred` and :meth:`executed` in one call."""
        self.inference_count += rows
        self.execution_count += 1
        queue = self.queue
        queue.count += 1
        queue.ns += queue_ns
        infer = self.compute_infer
        infer.count += 1
        infer.ns += compute_ns
        batch = self.batches.get(rows)
        if batch is None:
            batch = self.batches[rows] = Duration()
        batch.count += 1
        batch.ns += compute_ns

    def executed(self, rows: int, compute_ns: int) -> None:
        """One runtime call of ``rows`` rows (a batch of several requests counts once)."""
        self.execution_count += 1
        batch = self.batches.get(rows)
        if batch is None:
            batch = self.batches[rows] = Duration()
        batch.count += 1
        batch.ns += compute_ns


class InferenceStatistics:
    """Model name -> version -> :class:`VersionStatistics`; records are created on first use
    and looked up once per (model, version, status) by the metrics' child cache."""

    def __init__(self) -> None:
        self._models: dict[str, dict[int, VersionStatistics]] = {}

    def record(self, model: str, version: int) -> VersionStatistics:
        """The (possibly new) record of one version."""
        versions = self._models.get(model)
        if versions is None:
            versions = self._models[model] = {}
        record = versions.get(version)
        if record is None:
            record = versions[version] = VersionStatistics()
        return record

    def of(self, model: str) -> dict[int, VersionStatistics]:
        """Every version of ``model`` that has answered a request."""
        return dict(self._models.get(model, {}))
