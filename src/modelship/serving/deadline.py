"""Deadlines on inferences: TF Serving's ``--rest_api_timeout_in_ms`` for REST, the caller's own
deadline for gRPC (as TF Serving turns it into the run's timeout).

A deadline bounds the model call (with any batch queue wait), not reading the request; a call
already running on a thread finishes there and its result is dropped.
A timer per request costs as much as a small model's inference (benchmarks/results/PROFILE.md),
so one sweep per event loop cancels late ones, every tenth of the shortest deadline (1-100 ms).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from modelship.errors import DeadlineExceeded

__all__ = ["REST_TIMEOUT", "Deadlines"]

T = TypeVar("T")

# What a REST deadline comes from, for the message.
REST_TIMEOUT = "--rest_api_timeout_in_ms"
_LONGEST_SWEEP = 0.1


class Deadlines:
    """Keeps the deadlines of the inferences awaited through :meth:`run` on one event loop."""

    def __init__(self) -> None:
        self._waiting: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.TimerHandle | None = None
        self._interval = _LONGEST_SWEEP

    async def run(self, awaitable: Awaitable[T], seconds: float, method: str, source: str) -> T:
        """Await ``awaitable``; raise DeadlineExceeded once ``seconds`` have passed. ``method``
        and ``source`` (a flag, the caller) name the call and its deadline in the message."""
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - request handlers always run in a task
            return await awaitable
        if seconds <= 0:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()  # never started: no "never awaited" warning
            raise _exceeded(seconds, method, source)
        loop = asyncio.get_running_loop()
        cancelling = task.cancelling()
        self._waiting[task] = loop.time() + seconds
        interval = min(max(seconds / 10, 0.001), _LONGEST_SWEEP)
        if self._sweeper is None or interval < self._interval:
            if self._sweeper is not None:
                self._sweeper.cancel()
            self._interval = interval
            self._sweeper = loop.call_later(interval, self._sweep, loop)
        try:
            return await awaitable
        except asyncio.CancelledError:
            # Ours only if the sweep cancelled it and nobody else did (shutdown, disconnect).
            if task not in self._expired or task.uncancel() > cancelling:
                raise
            raise _exceeded(seconds, method, source) from None
        finally:
            del self._waiting[task]
            self._expired.discard(task)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for task, due in list(self._waiting.items()):
            if due <= now and task not in self._expired:
                self._expired.add(task)
                task.cancel()
        # Sleep while nothing waits: an idle server runs no timer.
        if self._waiting:
            self._sweeper = loop.call_later(self._interval, self._sweep, loop)
        else:
            self._sweeper, self._interval = None, _LONGEST_SWEEP


def _exceeded(seconds: float, method: str, source: str) -> DeadlineExceeded:
    return DeadlineExceeded(
        f"{method} did not finish within {max(seconds, 0) * 1000:g} ms ({source}); the model "
        "is slow for this input or the server is busy: retry later, send fewer rows, or allow "
        "more time"
    )
