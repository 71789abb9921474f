"""The REST inference deadline: expiry, answers in time, and cancellations that are not ours."""

from __future__ import annotations

import asyncio

import pytest

from modelship.errors import DeadlineExceeded
from modelship.serving.deadline import Deadline, within


async def _forever() -> int:
    await asyncio.Event().wait()
    return 0


async def _soon() -> int:
    await asyncio.sleep(0)
    return 7


def test_an_inference_past_the_deadline_raises_deadline_exceeded() -> None:
    async def main() -> None:
        deadline = Deadline(0.05)
        with pytest.raises(DeadlineExceeded, match=r"predict did not finish within 50 ms"):
            await deadline.run(_forever(), "predict")
        # The request task is not left cancelled: it goes on (to send its 504).
        task = asyncio.current_task()
        assert task is not None
        assert task.cancelling() == 0
        assert await deadline.run(_soon(), "predict") == 7

    asyncio.run(main())


def test_several_requests_each_get_their_own_answer() -> None:
    async def main() -> list[object]:
        deadline = Deadline(0.05)
        return await asyncio.gather(
            deadline.run(_forever(), "predict"),
            deadline.run(_soon(), "infer"),
            within(_soon(), None, "predict"),
            return_exceptions=True,
        )

    late, soon, unbounded = asyncio.run(main())
    assert isinstance(late, DeadlineExceeded)
    assert (soon, unbounded) == (7, 7)


def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    async def main() -> None:
        deadline = Deadline(3600)
        task = asyncio.ensure_future(deadline.run(_forever(), "predict"))
        await asyncio.sleep(0)
        task.cancel()  # the client went away, or the server is stopping
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
