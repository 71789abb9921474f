"""Inference deadlines: expiry, answers in time, the shortest deadline waiting sets the sweep,
and cancellations that are not ours."""

from __future__ import annotations

import asyncio

import pytest

from modelship.errors import DeadlineExceeded
from modelship.serving.deadline import REST_TIMEOUT, Deadlines


async def _forever() -> int:
    await asyncio.Event().wait()
    return 0


async def _soon() -> int:
    await asyncio.sleep(0)
    return 7


def test_an_inference_past_the_deadline_raises_deadline_exceeded() -> None:
    async def main() -> None:
        deadlines = Deadlines()
        with pytest.raises(
            DeadlineExceeded, match=r"predict did not finish within 50 ms \(--rest_api_timeout"
        ):
            await deadlines.run(_forever(), 0.05, "predict", REST_TIMEOUT)
        # The request task is not left cancelled: it goes on (to send its 504).
        task = asyncio.current_task()
        assert task is not None
        assert task.cancelling() == 0
        assert await deadlines.run(_soon(), 0.05, "predict", REST_TIMEOUT) == 7

    asyncio.run(main())


def test_several_requests_each_get_their_own_answer() -> None:
    async def main() -> None:
        deadlines = Deadlines()
        long = asyncio.ensure_future(
            deadlines.run(_forever(), 3600, "predict", "the caller's deadline")
        )
        await asyncio.sleep(0)
        # An hour-long deadline waiting must not hold a short one to its slow sweep.
        short = deadlines.run(_forever(), 0.02, "infer", "the caller's deadline")
        with pytest.raises(DeadlineExceeded) as raised:
            await asyncio.wait_for(short, timeout=2)
        assert "infer did not finish within 20 ms (the caller's deadline)" in raised.value.message
        assert await deadlines.run(_soon(), 0.05, "predict", REST_TIMEOUT) == 7
        assert not long.done()
        long.cancel()
        with pytest.raises(asyncio.CancelledError):
            await long

    asyncio.run(main())


def test_a_deadline_already_past_fails_at_once() -> None:
    async def main() -> None:
        with pytest.raises(DeadlineExceeded, match="within 0 ms"):
            await Deadlines().run(_forever(), -1.0, "predict", "the caller's deadline")

    asyncio.run(main())


def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    async def main() -> None:
        deadlines = Deadlines()
        task = asyncio.ensure_future(deadlines.run(_forever(), 3600, "predict", REST_TIMEOUT))
        await asyncio.sleep(0)
        task.cancel()  # the client went away, or the server is stopping
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
