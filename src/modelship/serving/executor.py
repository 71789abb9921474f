"""Where inference runs: off the event loop, so one slow batch never stalls other requests."""

from __future__ import annotations

import asyncio
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from modelship.registry import ServedVersion
from modelship.runtimes.base import Arrays, Runtime
from modelship.serving.statistics import InferenceStatistics, VersionStatistics

__all__ = ["InferenceExecutor", "RunCost", "ThreadExecutor"]


class InferenceExecutor(Protocol):
    """Runs conformed inputs through a served version without blocking the event loop."""

    # Where each request's wait and compute times go (set by the dataplane), or None.
    statistics: InferenceStatistics | None

    async def run(self, served: ServedVersion, signature_name: str, inputs: Arrays) -> Arrays:
        """Compute the outputs for ``inputs`` (batch dimension first)."""

    def close(self) -> None:
        """Stop taking work and release threads."""


class RunCost:
    """What one runtime's calls have cost: a moving average of seconds per row (None before
    its first call). One per runtime, shared by every request to it."""

    __slots__ = ("__weakref__", "per_row")

    def __init__(self) -> None:
        self.per_row: float | None = None


class ThreadExecutor:
    """One thread pool shared by every version; onnxruntime releases the GIL while it computes.

    A thread hand-off costs more than a tiny model's inference, so a request whose estimate (a
    moving average of seconds per row, per runtime) is under ``inline_seconds`` runs on the event
    loop (benchmarks/results/PROFILE.md); anything slower, or a runtime's first call, on the pool.
    The dataplane asks :meth:`run_now` first, with the runtime's :meth:`cost` bound once per
    version, and awaits :meth:`run` only when the call belongs on the pool.
    """

    def __init__(self, threads: int = 2, inline_seconds: float = 0.0002) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="inference")
        self._inline_seconds = inline_seconds
        self._costs: weakref.WeakKeyDictionary[Runtime, RunCost] = weakref.WeakKeyDictionary()
        self.statistics: InferenceStatistics | None = None

    def cost(self, runtime: Runtime) -> RunCost:
        """The cost record of ``runtime`` (created on first use)."""
        try:
            cost = self._costs.get(runtime)
            if cost is None:
                cost = self._costs[runtime] = RunCost()
        except TypeError:  # a runtime that cannot be weakly referenced: no memory of its cost
            cost = RunCost()
        return cost

    def run_now(
        self,
        runtime: Runtime,
        signature_name: str,
        inputs: Arrays,
        cost: RunCost,
        record: VersionStatistics | None,
    ) -> Arrays | None:
        """The outputs, computed here on the event loop, when ``cost`` says the call is
        cheaper than a thread hand-off; None when it belongs on the pool (await :meth:`run`).
        ``record``: the version's statistics."""
        per_row = cost.per_row
        if per_row is None:
            return None
        rows = _rows(inputs)
        if per_row * rows >= self._inline_seconds:
            return None
        queued = time.perf_counter_ns()
        outputs, compute_ns = self._timed(runtime, signature_name, inputs, rows, cost)
        if record is not None:
            waited = time.perf_counter_ns() - queued - compute_ns
            record.ran_alone(rows, max(waited, 0), compute_ns)
        return outputs

    async def run(self, served: ServedVersion, signature_name: str, inputs: Arrays) -> Arrays:
        runtime = served.require_runtime()
        rows = _rows(inputs)
        cost = self.cost(runtime)
        per_row = cost.per_row
        queued = time.perf_counter_ns()
        if per_row is not None and per_row * rows < self._inline_seconds:
            outputs, compute_ns = self._timed(runtime, signature_name, inputs, rows, cost)
        else:
            loop = asyncio.get_running_loop()
            outputs, compute_ns = await loop.run_in_executor(
                self._pool, self._timed, runtime, signature_name, inputs, rows, cost
            )
        if self.statistics is not None:
            # Back on the event loop: the time not spent computing was spent waiting.
            waited = time.perf_counter_ns() - queued - compute_ns
            self.statistics.record(served.model, served.version).ran_alone(
                rows, max(waited, 0), compute_ns
            )
        return outputs

    @staticmethod
    def _timed(
        runtime: Runtime, signature_name: str, inputs: Arrays, rows: int, cost: RunCost
    ) -> tuple[Arrays, int]:
        started = time.perf_counter_ns()
        outputs = runtime.predict(signature_name, inputs)
        compute_ns = time.perf_counter_ns() - started
        per_row = compute_ns / 1e9 / rows
        previous = cost.per_row
        if previous is not None:
            # On a busy machine a call is sometimes preempted mid-way; such a sample says
            # nothing about the model, so one sample may raise the average only a little.
            per_row = 0.9 * previous + 0.1 * min(per_row, 1.5 * previous)
        cost.per_row = per_row
        return outputs, compute_ns

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _rows(inputs: Arrays) -> int:
    for array in inputs.values():
        return max(1, int(array.shape[0])) if array.ndim else 1
    return 1
