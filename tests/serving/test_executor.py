"""The thread executor: slow or unknown models run on the pool, tiny ones inline."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from modelship.lifecycle.loader import Loader
from modelship.lifecycle.manager import load_version, unload_version
from modelship.registry import ServedVersion
from modelship.runtimes.base import Arrays
from modelship.serving.executor import ThreadExecutor
from modelship.serving.server import build_executor
from modelship.settings import ServeSettings
from tests.fixtures.toy_models import two_in_two_out, write_version
from tests.fixtures.where_it_ran import WhereItRan


def _inputs(rows: int) -> Arrays:
    return {"a": np.ones((rows, 3), np.float32), "b": np.ones((rows, 3), np.float32)}


def test_tiny_calls_run_inline_after_the_first_and_big_ones_on_the_pool(tmp_path: Path) -> None:
    served = ServedVersion("pair", 1, write_version(tmp_path / "pair", 1, two_in_two_out()))
    load_version(served, Loader(threads=1))
    assert served.runtime is not None
    recorder = WhereItRan(served.runtime)
    served.runtime = recorder
    executor = ThreadExecutor(inline_seconds=0.5)

    async def main() -> None:
        for _ in range(3):
            out = await executor.run(served, "serving_default", _inputs(2))
            np.testing.assert_array_equal(out["sum"], np.full((2, 3), 2.0))
        # Far more rows than the inline budget covers: back to the pool.
        await executor.run(served, "serving_default", _inputs(2_000_000))

    try:
        asyncio.run(main())
    finally:
        executor.close()
        unload_version(served)
    assert recorder.threads[0].startswith("inference")
    assert recorder.threads[1:3] == ["MainThread", "MainThread"]
    assert recorder.threads[3].startswith("inference")


def test_the_inline_threshold_setting_reaches_the_executor(tmp_path: Path) -> None:
    """``inline_run_micros=0`` (MODELSHIP_INLINE_RUN_MICROS) keeps every call on the pool."""
    served = ServedVersion("pair", 1, write_version(tmp_path / "pair", 1, two_in_two_out()))
    load_version(served, Loader(threads=1))
    assert served.runtime is not None
    recorder = WhereItRan(served.runtime)
    served.runtime = recorder
    executor = build_executor(ServeSettings(inline_run_micros=0))
    assert isinstance(executor, ThreadExecutor)

    async def main() -> None:
        for _ in range(3):
            await executor.run(served, "serving_default", _inputs(2))

    try:
        asyncio.run(main())
    finally:
        executor.close()
        unload_version(served)
    assert all(thread.startswith("inference") for thread in recorder.threads)
    assert len(recorder.threads) == 3
