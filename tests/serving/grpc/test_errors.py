"""Servicer methods wrapped by ``grpc_errors``: modelship errors abort with their status, any
other exception with INTERNAL, and answers pass through untouched."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import grpc
import pytest

from modelship.errors import (
    ClientGone,
    DeadlineExceeded,
    InvalidInput,
    ModelshipError,
    PayloadTooLarge,
    ResourceExhausted,
    ServingUnavailable,
    Unimplemented,
    VersionNotFound,
)
from modelship.serving.grpc.errors import GRPC_STATUS, grpc_errors


class Aborted(Exception):
    """What the fake context's abort raises, as grpc.aio's does."""


class FakeContext:
    """Records the one ``abort`` call, then raises as ``grpc.aio.ServicerContext.abort`` does."""

    def __init__(self) -> None:
        self.aborted: tuple[grpc.StatusCode, str] | None = None

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        assert self.aborted is None, "abort called twice"
        self.aborted = (code, details)
        raise Aborted


class Servicer:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.seen: list[Any] = []

    @grpc_errors
    async def Predict(self, request: str, context: Any) -> str:
        """Answers the request upper-cased."""
        self.seen.append((request, context))
        if self.error is not None:
            raise self.error
        return request.upper()


def _call(servicer: Servicer, request: str = "hi") -> tuple[Any, FakeContext]:
    context = FakeContext()

    async def call() -> Any:
        return await servicer.Predict(request, context)

    try:
        return asyncio.run(call()), context
    except Aborted:
        return None, context


def test_an_answer_passes_through_without_an_abort() -> None:
    servicer = Servicer()
    answer, context = _call(servicer, "hi")
    assert answer == "HI"
    assert context.aborted is None
    assert servicer.seen == [("hi", context)]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidInput("expected 3 values"), grpc.StatusCode.INVALID_ARGUMENT),
        (PayloadTooLarge("too big"), grpc.StatusCode.INVALID_ARGUMENT),
        (VersionNotFound("Specific(toy, 2)"), grpc.StatusCode.NOT_FOUND),
        (DeadlineExceeded("took too long"), grpc.StatusCode.DEADLINE_EXCEEDED),
        (ResourceExhausted("queue full"), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (ServingUnavailable("stopping"), grpc.StatusCode.UNAVAILABLE),
        (Unimplemented("no classify"), grpc.StatusCode.UNIMPLEMENTED),
        (ClientGone("left"), grpc.StatusCode.CANCELLED),
        (ModelshipError("base"), grpc.StatusCode.UNKNOWN),
    ],
)
def test_a_modelship_error_aborts_with_its_status_and_message(
    error: ModelshipError, code: grpc.StatusCode
) -> None:
    answer, context = _call(Servicer(error))
    assert answer is None
    assert context.aborted == (code, error.message)


def test_an_error_with_an_unknown_code_aborts_unknown() -> None:
    class Strange(ModelshipError):
        code = "NOT_A_CODE"

    _, context = _call(Servicer(Strange("odd")))
    assert context.aborted == (grpc.StatusCode.UNKNOWN, "odd")


def test_any_other_exception_aborts_internal_and_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="modelship.grpc"):
        _, context = _call(Servicer(ValueError("shape mismatch")))
    assert context.aborted == (grpc.StatusCode.INTERNAL, "ValueError: shape mismatch")
    [record] = caplog.records
    assert record.getMessage() == "unexpected error in Predict"
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)


def test_the_wrapper_keeps_the_methods_name_and_doc() -> None:
    assert Servicer.Predict.__name__ == "Predict"
    assert Servicer.Predict.__doc__ == "Answers the request upper-cased."


def test_the_status_table_is_the_identity_on_grpc_names() -> None:
    assert {name: code.name for name, code in GRPC_STATUS.items()} == {
        code.name: code.name for code in grpc.StatusCode
    }
