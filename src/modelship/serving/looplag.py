"""Event-loop lag: how late the loop runs a callback it was asked to run at a given time.

Everything a serving process does for its clients runs on one event loop; a thread that holds
the GIL (a model loading, a warm-up, a garbage collection) or a long call on the loop itself
delays every request by as much. A callback scheduled every ``interval`` seconds measures that
delay at a cost of one timer per interval, never per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["LOOP_LAG_INTERVAL", "LoopLagMonitor"]

# Ten samples a second: a stall of 0.1 s or more is always seen, at a negligible cost.
LOOP_LAG_INTERVAL = 0.1


class LoopLagMonitor:
    """Calls ``observe(seconds late)`` for each tick of a timer on the running loop."""

    def __init__(
        self, observe: Callable[[float], None], interval: float = LOOP_LAG_INTERVAL
    ) -> None:
        if interval <= 0:
            raise ValueError("the loop-lag interval must be positive")
        self._observe = observe
        self._interval = interval
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._due = 0.0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start sampling ``loop`` (from its own thread)."""
        if self._handle is not None:
            return
        self._loop = loop
        self._schedule()

    def stop(self) -> None:
        """Stop sampling."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self) -> None:
        assert self._loop is not None
        self._due = self._loop.time() + self._interval
        self._handle = self._loop.call_at(self._due, self._tick)

    def _tick(self) -> None:
        assert self._loop is not None
        self._observe(max(0.0, self._loop.time() - self._due))
        self._schedule()
