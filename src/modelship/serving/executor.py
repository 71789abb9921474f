"""Where inference runs: off the event loop, so one slow batch never stalls other requests.

:class:`ThreadExecutor` runs each request's batch on a small thread pool. The batching executor
(``modelship.serving.batcher``) has the same interface and merges concurrent requests first.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from modelship.registry import ServedVersion
from modelship.runtimes.base import Arrays

__all__ = ["InferenceExecutor", "ThreadExecutor"]


class InferenceExecutor(Protocol):
    """Runs conformed inputs through a served version without blocking the event loop."""

    async def run(self, served: ServedVersion, signature_name: str, inputs: Arrays) -> Arrays:
        """Compute the outputs for ``inputs`` (batch dimension first)."""
        ...

    def close(self) -> None:
        """Stop taking work and release threads."""
        ...


class ThreadExecutor:
    """One thread pool shared by every version; onnxruntime releases the GIL while it computes."""

    def __init__(self, threads: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="inference")

    async def run(self, served: ServedVersion, signature_name: str, inputs: Arrays) -> Arrays:
        runtime = served.require_runtime()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, runtime.predict, signature_name, inputs)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
