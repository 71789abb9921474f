"""The batching executor on real ONNX models: merging, splitting, padding, order, back-pressure."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from modelship.errors import ResourceExhausted
from modelship.lifecycle.loader import Loader
from modelship.lifecycle.manager import load_version, unload_version
from modelship.registry import ServedVersion
from modelship.runtimes.base import Arrays, Runtime
from modelship.serving.batcher import BatchingExecutor
from modelship.serving.batching_params import BatchingParameters
from modelship.serving.statistics import InferenceStatistics
from tests.fixtures.toy_models import row_sum, two_in_two_out, write_version


class Recording:
    """A runtime that records the batch sizes it is given, then runs the real model.

    With ``gate`` set, each batch first waits for the gate: a test can hold the batch threads.
    """

    def __init__(self, inner: Runtime, gate: threading.Event | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.signatures = inner.signatures
        self.shapes: list[dict[str, tuple[int, ...]]] = []
        self.gate = gate
        self.started = threading.Event()

    def predict(self, signature_name: str, inputs: Arrays) -> Arrays:
        self.shapes.append({k: v.shape for k, v in inputs.items()})
        self.started.set()
        if self.gate is not None:
            self.gate.wait(10)
        return self.inner.predict(signature_name, inputs)

    def close(self) -> None:
        self.inner.close()


def _served(base: Path, model_name: str, model: object, version: int = 1) -> ServedVersion:
    path = write_version(base / model_name, version, model)  # type: ignore[arg-type]
    served = ServedVersion(model=model_name, version=version, path=path)
    load_version(served, Loader(threads=1))
    assert served.available, served.error_message
    return served


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedVersion]:
    served = _served(tmp_path_factory.mktemp("batcher"), "pair", two_in_two_out())
    yield served
    unload_version(served)


def _record(served: ServedVersion, gate: threading.Event | None = None) -> Recording:
    runtime = served.runtime
    while isinstance(runtime, Recording):
        runtime = runtime.inner
    assert runtime is not None
    recording = Recording(runtime, gate)
    served.runtime = recording
    return recording


def _pair_inputs(rows: int, seed: int) -> Arrays:
    rng = np.random.default_rng(seed)
    return {
        "a": rng.normal(size=(rows, 3)).astype(np.float32),
        "b": rng.normal(size=(rows, 3)).astype(np.float32),
    }


async def _run_many(executor: BatchingExecutor, served: ServedVersion, sizes: list[int]) -> None:
    requests = [_pair_inputs(rows, seed) for seed, rows in enumerate(sizes)]
    results = await asyncio.gather(*(executor.run(served, "serving_default", r) for r in requests))
    for inputs, outputs in zip(requests, results, strict=True):
        np.testing.assert_allclose(outputs["sum"], inputs["a"] + inputs["b"], rtol=1e-6)
        np.testing.assert_allclose(outputs["product"], inputs["a"] * inputs["b"], rtol=1e-6)


def test_concurrent_callers_share_batches_and_get_their_own_rows(pair: ServedVersion) -> None:
    recording = _record(pair)
    params = BatchingParameters(max_batch_size=16, batch_timeout_micros=20_000, num_batch_threads=1)
    executor = BatchingExecutor(params)
    executor.statistics = InferenceStatistics()
    try:
        asyncio.run(_run_many(executor, pair, [1, 3, 2, 5, 1, 4] * 5))
    finally:
        executor.close()
    batch_rows = [s["a"][0] for s in recording.shapes]
    assert sum(batch_rows) == 16 * 5
    assert max(batch_rows) <= 16
    assert len(batch_rows) < 30  # requests were merged, not run one by one
    # Rows count once each, a merged batch once, and each batch under its own size.
    stats = executor.statistics.record("pair", 1)
    assert stats.inference_count == 16 * 5
    assert stats.execution_count == len(batch_rows)
    assert stats.queue.count == stats.compute_infer.count == 30
    assert stats.queue.ns >= 0
    assert stats.compute_infer.ns > 0
    sizes = {int(n): batch_rows.count(n) for n in set(batch_rows)}
    assert {size: d.count for size, d in stats.batches.items()} == sizes
    assert sum(d.ns for d in stats.batches.values()) <= stats.compute_infer.ns


def test_a_request_larger_than_max_batch_size_is_split(pair: ServedVersion) -> None:
    recording = _record(pair)
    executor = BatchingExecutor(BatchingParameters(max_batch_size=8, batch_timeout_micros=0))
    executor.statistics = InferenceStatistics()
    try:
        asyncio.run(_run_many(executor, pair, [29]))
    finally:
        executor.close()
    assert sorted(s["a"][0] for s in recording.shapes) == [5, 8, 8, 8]
    stats = executor.statistics.record("pair", 1)
    assert (stats.inference_count, stats.execution_count) == (29, 4)
    assert {size: d.count for size, d in stats.batches.items()} == {8: 3, 5: 1}


def test_batches_are_padded_to_allowed_sizes_and_sliced_back(pair: ServedVersion) -> None:
    recording = _record(pair)
    params = BatchingParameters(
        max_batch_size=8, batch_timeout_micros=0, allowed_batch_sizes=(4, 8), num_batch_threads=1
    )
    executor = BatchingExecutor(params)
    try:
        asyncio.run(_run_many(executor, pair, [3, 1, 6, 2, 7]))
    finally:
        executor.close()
    assert {s["a"][0] for s in recording.shapes} <= {4, 8}


def test_variable_length_inputs_are_padded_when_asked(tmp_path: Path) -> None:
    served = _served(tmp_path, "sum", row_sum())
    recording = _record(served)
    params = BatchingParameters(
        max_batch_size=8,
        batch_timeout_micros=50_000,
        num_batch_threads=1,
        pad_variable_length_inputs=True,
    )
    executor = BatchingExecutor(params)
    rows = [np.arange(n * 2, dtype=np.float32).reshape(2, n) for n in (2, 5, 3)]

    async def main() -> list[Arrays]:
        return await asyncio.gather(
            *(executor.run(served, "serving_default", {"x": r}) for r in rows)
        )

    try:
        results = asyncio.run(main())
    finally:
        executor.close()
        unload_version(served)
    for x, out in zip(rows, results, strict=True):
        np.testing.assert_allclose(out["total"], x.sum(axis=1))
    assert recording.shapes == [{"x": (6, 5)}]  # one batch, zero-padded to the longest


def test_a_full_queue_answers_resource_exhausted(pair: ServedVersion) -> None:
    gate = threading.Event()
    recording = _record(pair, gate)
    params = BatchingParameters(
        max_batch_size=2, batch_timeout_micros=0, max_enqueued_batches=1, num_batch_threads=1
    )
    executor = BatchingExecutor(params)

    async def main() -> None:
        running = asyncio.ensure_future(executor.run(pair, "serving_default", _pair_inputs(2, 0)))
        await asyncio.to_thread(recording.started.wait, 10)  # the only thread is now busy
        queued = asyncio.ensure_future(executor.run(pair, "serving_default", _pair_inputs(2, 1)))
        await asyncio.sleep(0.05)
        with pytest.raises(ResourceExhausted, match="queue of pair version 1 is full"):
            await executor.run(pair, "serving_default", _pair_inputs(1, 2))
        gate.set()
        done = await asyncio.gather(running, queued)
        assert [d["sum"].shape for d in done] == [(2, 3), (2, 3)]

    try:
        asyncio.run(main())
    finally:
        gate.set()
        executor.close()


def test_runtime_failures_reach_every_caller_of_the_batch(pair: ServedVersion) -> None:
    executor = BatchingExecutor(BatchingParameters(batch_timeout_micros=0))
    bad = {"a": np.zeros((2, 4), dtype=np.float32), "b": np.zeros((2, 4), dtype=np.float32)}

    async def main() -> None:
        with pytest.raises(Exception, match=r"(?i)dimension|shape"):
            await executor.run(pair, "serving_default", bad)
        good = await executor.run(pair, "serving_default", _pair_inputs(1, 0))
        assert good["sum"].shape == (1, 3)

    try:
        asyncio.run(main())
    finally:
        executor.close()


def test_a_fixed_batch_model_is_never_given_more_rows_than_it_was_exported_with(
    tmp_path: Path,
) -> None:
    served = _served(tmp_path, "fixed", two_in_two_out(batch=1))
    assert served.require_runtime().signatures["serving_default"].fixed_batch == 1
    recording = _record(served)
    params = BatchingParameters(
        max_batch_size=8, batch_timeout_micros=20_000, allowed_batch_sizes=(4, 8)
    )
    executor = BatchingExecutor(params)
    try:
        asyncio.run(_run_many(executor, served, [1] * 12))
    finally:
        executor.close()
        unload_version(served)
    assert [s["a"][0] for s in recording.shapes] == [1] * 12
