"""Counts gRPC inference calls in the same Prometheus series as REST (``api="grpc"``)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from modelship.serving.metrics import API_GRPC

__all__ = ["metered"]

_Request = TypeVar("_Request")
_Response = TypeVar("_Response")
_Method = Callable[[Any, _Request, Any], Awaitable[_Response]]


def metered(
    model_of: Callable[[Any], str], version_of: Callable[[Any], str]
) -> Callable[[_Method[_Request, _Response]], _Method[_Request, _Response]]:
    """Record each call's model, answering version, status code and latency.

    Apply it under :func:`~modelship.serving.grpc.errors.grpc_errors`, so it sees modelship's
    errors before they become a gRPC status.
    """

    def decorate(method: _Method[_Request, _Response]) -> _Method[_Request, _Response]:
        @functools.wraps(method)
        async def wrapper(self: Any, request: _Request, context: Any) -> _Response:
            with self.dataplane.metrics.timed(model_of(request), API_GRPC) as timer:
                response = await method(self, request, context)
                timer.version = version_of(response)
                return response

        return wrapper

    return decorate
