"""Dynamic batching with TF Serving's semantics: concurrent requests to one version are merged
into one runtime call on the batch threads, and every caller gets exactly its own rows back.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from typing import Any, Protocol

import numpy as np

from modelship.errors import InvalidInput, ResourceExhausted, ServingUnavailable
from modelship.registry import ServedVersion
from modelship.runtimes.base import Arrays
from modelship.serving.batching_params import BatchingParameters
from modelship.serving.statistics import InferenceStatistics

__all__ = ["BatchMetrics", "BatchingExecutor"]


class BatchMetrics(Protocol):
    """Where the batcher reports what it does (see :mod:`modelship.serving.metrics`)."""

    def batch(self, model: str, version: int, rows: int) -> None: ...

    def queue_depth(self, model: str, version: int, rows: int) -> None: ...


class _Task:
    """One caller's rows (or one slice of a caller's rows), waiting for a batch."""

    __slots__ = (
        "batch_rows",
        "compute_ns",
        "enqueued",
        "future",
        "inputs",
        "key",
        "loop",
        "queue_ns",
        "rows",
    )

    def __init__(self, inputs: Arrays, rows: int, loop: asyncio.AbstractEventLoop) -> None:
        self.inputs = inputs
        self.rows = rows
        self.loop = loop
        self.future: asyncio.Future[Arrays] = loop.create_future()
        # Tasks whose inputs differ beyond the batch dimension cannot share a batch unpadded.
        self.key = tuple((name, a.shape[1:], a.dtype.str) for name, a in inputs.items())
        self.enqueued = time.monotonic()
        # Set by the batch thread: time waiting, the batch's runtime call, and the batch's rows
        # on its first task only (so a merged batch counts as one execution).
        self.queue_ns = self.compute_ns = self.batch_rows = 0


class _Queue:
    """The waiting tasks of one served version and signature."""

    def __init__(self, served: ServedVersion, signature_name: str, limit: int) -> None:
        self.served = served
        self.signature_name = signature_name
        self.tasks: deque[_Task] = deque()
        self.rows = 0
        # The most rows one batch may hold: max_batch_size, or the model's fixed batch size.
        self.limit = limit


Answer = tuple[asyncio.Future[Arrays], Arrays | BaseException]


def _resolve(answers: list[Answer]) -> None:
    for future, result in answers:
        if future.done():  # the caller went away (cancelled); nobody wants the answer
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)


class BatchingExecutor:
    """An :class:`~modelship.serving.executor.InferenceExecutor` that batches per version."""

    def __init__(self, params: BatchingParameters, metrics: BatchMetrics | None = None) -> None:
        self.params = params
        self._metrics = metrics
        self.statistics: InferenceStatistics | None = None
        self._timeout = params.batch_timeout_micros / 1e6
        self._capacity = params.max_batch_size * params.max_enqueued_batches
        self._cond = threading.Condition()
        self._queues: dict[tuple[int, str], _Queue] = {}
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"batch-{i}", daemon=True)
            for i in range(params.num_batch_threads)
        ]
        for thread in self._threads:
            thread.start()

    async def run(self, served: ServedVersion, signature_name: str, inputs: Arrays) -> Arrays:
        loop = asyncio.get_running_loop()
        if any(a.ndim == 0 for a in inputs.values()):
            # No batch dimension to merge along: run the request on its own.
            runtime = served.require_runtime()
            started = time.perf_counter_ns()
            outputs = await loop.run_in_executor(None, runtime.predict, signature_name, inputs)
            if self.statistics is not None:
                compute_ns = time.perf_counter_ns() - started
                self.statistics.record(served.model, served.version).ran_alone(1, 0, compute_ns)
            return outputs
        rows = _rows(inputs)
        fixed = _fixed_batch(served, signature_name)
        # A model exported with a fixed batch takes exactly that many rows: never merge past it.
        step = min(self.params.max_batch_size, fixed or self.params.max_batch_size)
        tasks = [
            _Task(
                {n: a[start : start + step] for n, a in inputs.items()},
                min(step, rows - start),
                loop,
            )
            for start in range(0, max(rows, 1), step)
        ]
        with self._cond:
            if self._closed:
                raise ServingUnavailable("the server is shutting down; retry on another replica")
            key = (id(served), signature_name)
            queue = self._queues.get(key)
            if queue is None or queue.served is not served:
                queue = self._queues[key] = _Queue(served, signature_name, step)
            if queue.rows + rows > self._capacity:
                raise ResourceExhausted(
                    f"the batch queue of {served.model} version {served.version} is full "
                    f"({self.params.max_enqueued_batches} batches waiting); retry with backoff"
                )
            queue.tasks.extend(tasks)
            queue.rows += rows
            self._report_depth(queue)
            self._cond.notify(len(tasks))
        if len(tasks) == 1:
            outputs = await tasks[0].future
            if self.statistics is not None:
                self._record(served, tasks)
            return outputs
        parts = await asyncio.gather(*(t.future for t in tasks))
        if self.statistics is not None:
            self._record(served, tasks)
        return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}

    def _record(self, served: ServedVersion, tasks: list[_Task]) -> None:
        """Add the answered tasks' timings to their version's statistics (on the event loop)."""
        assert self.statistics is not None
        record = self.statistics.record(served.model, served.version)
        for task in tasks:
            record.inferred(task.rows, task.queue_ns, task.compute_ns)
            if task.batch_rows:
                record.executed(task.batch_rows, task.compute_ns)

    def close(self) -> None:
        """Finish what is queued, then stop the batch threads."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=30)

    # -- batch threads -------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._cond:
                while True:
                    queue, batch, wait = self._take_batch()
                    if batch:
                        break
                    if self._closed and wait is None:
                        return
                    self._cond.wait(wait)
            if queue is not None:
                self._run_batch(queue, batch)

    def _take_batch(self) -> tuple[_Queue | None, list[_Task], float | None]:
        """Under the lock: the next batch that is due, or how long to wait for one."""
        now = time.monotonic()
        due: _Queue | None = None
        wait: float | None = None
        for key, queue in list(self._queues.items()):
            if not queue.tasks:
                if not queue.served.available:
                    del self._queues[key]  # the version is gone; forget its queue
                continue
            head = queue.tasks[0].enqueued
            deadline = head + self._timeout
            if queue.rows >= queue.limit or deadline <= now or self._closed:
                if due is None or head < due.tasks[0].enqueued:
                    due = queue
            else:
                left = deadline - now
                wait = left if wait is None else min(wait, left)
        if due is None:
            return None, [], wait
        batch = [due.tasks.popleft()]
        rows = batch[0].rows
        pad = self.params.pad_variable_length_inputs
        while due.tasks:
            nxt = due.tasks[0]
            if rows + nxt.rows > due.limit:
                break
            if nxt.key != batch[0].key and not (pad and _same_rank(nxt, batch[0])):
                break
            batch.append(due.tasks.popleft())
            rows += nxt.rows
        due.rows -= rows
        self._report_depth(due)
        return due, batch, 0.0

    def _run_batch(self, queue: _Queue, batch: list[_Task]) -> None:
        live = [t for t in batch if not t.future.cancelled()]
        if not live:
            return
        rows = sum(t.rows for t in live)
        began = time.monotonic()
        try:
            runtime = queue.served.require_runtime()
            inputs = self._merge(live, rows, queue.limit)
            outputs = runtime.predict(queue.signature_name, inputs)
            compute_ns = int((time.monotonic() - began) * 1e9)
            for name, value in outputs.items():
                if value.ndim == 0 or value.shape[0] < rows:
                    raise InvalidInput(
                        f"output {name!r} has no batch dimension; this model cannot be batched"
                    )
        except BaseException as exc:  # every caller in the batch gets the failure
            _deliver(live, [exc] * len(live))
            return
        if self._metrics is not None:
            self._metrics.batch(queue.served.model, queue.served.version, rows)
        live[0].batch_rows = rows
        offset = 0
        results: list[Arrays | BaseException] = []
        for task in live:
            task.queue_ns = int((began - task.enqueued) * 1e9)
            task.compute_ns = compute_ns
            end = offset + task.rows
            results.append({name: value[offset:end] for name, value in outputs.items()})
            offset = end
        _deliver(live, results)

    def _merge(self, batch: list[_Task], rows: int, limit: int) -> Arrays:
        """One array per input: the tasks' rows in order, padded as the parameters ask (never
        past ``limit``, the model's fixed batch size when it has one)."""
        merged: Arrays = {}
        target = self.params.padded_size(rows)
        if target > limit:
            target = rows
        for name in batch[0].inputs:
            parts = [t.inputs[name] for t in batch]
            if self.params.pad_variable_length_inputs:
                parts = _pad_to_common_shape(parts)
            if target > rows:
                # Padding rows copy the first row: always a valid input for the model.
                parts.append(np.repeat(parts[0][:1], target - rows, axis=0))
            merged[name] = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return merged

    def _report_depth(self, queue: _Queue) -> None:
        if self._metrics is not None:
            self._metrics.queue_depth(queue.served.model, queue.served.version, queue.rows)


def _deliver(tasks: list[_Task], results: list[Arrays | BaseException]) -> None:
    """Answer a batch's callers with one wake-up of each event loop among them, not one per
    caller: waking a loop from another thread is a system call."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Answer]] = {}
    for task, result in zip(tasks, results, strict=True):
        by_loop.setdefault(task.loop, []).append((task.future, result))
    for loop, answers in by_loop.items():
        # A closed loop means the caller's server is gone: nobody to answer.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve, answers)


def _fixed_batch(served: ServedVersion, signature_name: str) -> int | None:
    signature = served.require_runtime().signatures.get(signature_name)
    return signature.fixed_batch if signature is not None else None


def _rows(inputs: Arrays) -> int:
    sizes = {a.shape[0] if a.ndim else 1 for a in inputs.values()}
    if len(sizes) != 1:
        raise InvalidInput(f"inputs disagree on the batch size: {sorted(sizes)}")
    return sizes.pop()


def _same_rank(a: _Task, b: _Task) -> bool:
    return [(n, len(s), d) for n, s, d in a.key] == [(n, len(s), d) for n, s, d in b.key]


def _pad_to_common_shape(parts: list[np.ndarray[Any, Any]]) -> list[np.ndarray[Any, Any]]:
    """Zero-pad every part's non-batch dimensions to the largest among them."""
    shape = tuple(max(dims) for dims in zip(*(p.shape[1:] for p in parts), strict=True))
    padded = []
    for part in parts:
        if part.shape[1:] == shape:
            padded.append(part)
            continue
        widths = [(0, 0)] + [
            (0, want - have) for have, want in zip(part.shape[1:], shape, strict=True)
        ]
        padded.append(np.pad(part, widths))
    return padded
