"""TF Serving's ``--rest_api_timeout_in_ms``: a deadline on a REST request's inference.

Like TF Serving's run-option timeout, it bounds the model call (with any wait in the batch
queue), not the reading or parsing of the body. When it passes, the caller gets
DEADLINE_EXCEEDED (HTTP 504) and the event loop moves on; a model call already running on a
thread finishes there and its result is dropped (a waiting batch slot is skipped).

A timer per request (``asyncio.timeout``) cost 5-14 us a request under uvloop on the dev
machine: as much as a small model's whole inference. So one sweep per worker, every tenth of
the deadline (at most 100 ms), cancels the requests past theirs; a request pays for two dict
operations (0.8 us). The deadline is thus kept to within a tenth (or 100 ms) late, never early.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from modelship.errors import DeadlineExceeded

__all__ = ["Deadline", "within"]

T = TypeVar("T")


class Deadline:
    """The deadline of every inference awaited through :meth:`run` on one event loop.

    Args:
        seconds: how long an inference may take.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._interval = min(max(seconds / 10, 0.001), 0.1)
        self._waiting: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.TimerHandle | None = None

    async def run(self, awaitable: Awaitable[T], method: str) -> T:
        """Await ``awaitable``; raise DeadlineExceeded once :attr:`seconds` have passed.

        Args:
            awaitable: the inference.
            method: what is being waited for (``predict``...), for the message.
        """
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - request handlers always run in a task
            return await awaitable
        loop = asyncio.get_running_loop()
        cancelling = task.cancelling()
        self._waiting[task] = loop.time() + self.seconds
        if self._sweeper is None:
            self._sweeper = loop.call_later(self._interval, self._sweep, loop)
        try:
            return await awaitable
        except asyncio.CancelledError:
            # Ours only if the sweep cancelled it and nobody else did (shutdown, disconnect).
            if task not in self._expired or task.uncancel() > cancelling:
                raise
            raise DeadlineExceeded(
                f"{method} did not finish within {self.seconds * 1000:g} ms "
                "(--rest_api_timeout_in_ms); the model is slow for this input or the server is "
                "busy: retry later, send fewer rows, or raise the timeout"
            ) from None
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
        self._sweeper = (
            loop.call_later(self._interval, self._sweep, loop) if self._waiting else None
        )


async def within(awaitable: Awaitable[T], deadline: Deadline | None, method: str) -> T:
    """Await ``awaitable`` under ``deadline`` (None: as long as it takes)."""
    if deadline is None:
        return await awaitable
    return await deadline.run(awaitable, method)
