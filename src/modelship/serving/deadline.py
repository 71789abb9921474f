"""TF Serving's ``--rest_api_timeout_in_ms``: a deadline on a REST request's inference.

Like TF Serving's run-option timeout, it bounds the model call (with any wait in the batch
queue), not the reading or parsing of the body. When it passes, the caller gets
DEADLINE_EXCEEDED (HTTP 504) at once and the event loop moves on; a model call already running
on a thread finishes there and its result is dropped (a waiting batch slot is skipped).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from modelship.errors import DeadlineExceeded

__all__ = ["within"]

T = TypeVar("T")


async def within(awaitable: Awaitable[T], seconds: float | None, method: str) -> T:
    """Await ``awaitable``, or raise DeadlineExceeded once ``seconds`` have passed.

    Args:
        awaitable: the inference to wait for.
        seconds: the deadline; ``None`` waits as long as it takes.
        method: what is being waited for (``predict``...), for the message.
    """
    if seconds is None:
        return await awaitable
    timer = asyncio.timeout(seconds)
    try:
        async with timer:
            return await awaitable
    except TimeoutError:
        if not timer.expired():  # raised by the awaited code itself, not our deadline
            raise
        raise DeadlineExceeded(
            f"{method} did not finish within {seconds * 1000:g} ms "
            "(--rest_api_timeout_in_ms); the model is slow for this input or the server is "
            "busy: retry later, send fewer rows, or raise the timeout"
        ) from None
