"""Maps modelship's errors to gRPC status codes, once, and keeps servicers from crashing."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, TypeVar

import grpc

from modelship.errors import InvalidInput, ModelshipError
from modelship.serving.grpc.decoding import Undecodable

__all__ = ["GRPC_STATUS", "Context", "abort", "grpc_errors", "undecodable", "v2_grpc_errors"]

logger = logging.getLogger("modelship.grpc")

# Canonical status code name -> gRPC code: the identity on names, so none escapes as a crash.
GRPC_STATUS: dict[str, grpc.StatusCode] = {code.name: code for code in grpc.StatusCode}

# grpc.aio.ServicerContext; grpcio ships no type hints, so it is Any to mypy either way.
Context: TypeAlias = Any

_Request = TypeVar("_Request")
_Response = TypeVar("_Response")
_Method = Callable[[Any, _Request, Context], Awaitable[_Response]]


def grpc_errors(method: _Method[_Request, _Response]) -> _Method[_Request, _Response]:
    """Wrap a servicer method: modelship errors become their status (the message as its
    details), anything else INTERNAL, logged with its traceback."""
    return _wrap(method, v2=False)


def v2_grpc_errors(method: _Method[_Request, _Response]) -> _Method[_Request, _Response]:
    """:func:`grpc_errors` with the Open Inference Protocol's wording of each error."""
    return _wrap(method, v2=True)


def _wrap(method: _Method[_Request, _Response], v2: bool) -> _Method[_Request, _Response]:
    @functools.wraps(method)
    async def wrapper(self: Any, request: _Request, context: Context) -> _Response:
        try:
            if isinstance(request, Undecodable):
                raise undecodable(request)
            return await method(self, request, context)
        except Exception as exc:
            await abort(context, exc, v2, method.__name__)
        raise AssertionError("unreachable: context.abort raises")  # pragma: no cover

    return wrapper


def undecodable(request: Undecodable) -> InvalidInput:
    """The error a request whose bytes did not parse is answered with."""
    return InvalidInput(f"the request is not a valid message: {request.error}")


async def abort(context: Context, exc: Exception, v2: bool, method: str) -> None:
    """End the call with ``exc``'s status: a modelship error's own (the message, in the Open
    Inference Protocol's wording when ``v2``, as details), anything else INTERNAL, logged with
    its traceback. Raises (``context.abort`` does); hot methods call it from their own
    ``except`` instead of wearing :func:`grpc_errors`, which costs a coroutine per call."""
    if isinstance(exc, ModelshipError):
        code = GRPC_STATUS.get(exc.code, grpc.StatusCode.UNKNOWN)
        await context.abort(code, _details(exc.v2_message if v2 else exc.message))
    # a bug of ours or a runtime failure: report, keep serving
    logger.error("unexpected error in %s", method, exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, _details(f"{type(exc).__name__}: {exc}"))


def _details(message: str) -> str:
    # Details travel as UTF-8: a lone surrogate echoed from the request would fail the abort.
    return message.encode("utf-8", "backslashreplace").decode()
