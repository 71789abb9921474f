"""Request messages that do not parse (bad UTF-8 in a string field, truncated bytes) reach the
servicer as :class:`Undecodable`, which it answers INVALID_ARGUMENT. grpcio would otherwise
answer UNKNOWN and log a traceback for what is the client's mistake."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import grpc
from google.protobuf.message import DecodeError

__all__ = ["TolerantRegistration", "Undecodable"]


class Undecodable:
    """A request whose bytes are not a valid message of its type."""

    __slots__ = ("error",)

    def __init__(self, error: str) -> None:
        self.error = error


def _tolerant(deserializer: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def parse(data: bytes) -> Any:
        try:
            return deserializer(data)
        except DecodeError as exc:
            return Undecodable(str(exc))

    return parse


class _TolerantHandler(grpc.GenericRpcHandler):  # type: ignore[misc]
    """A generated service's handler whose unary methods parse with :func:`_tolerant`."""

    def __init__(self, inner: grpc.GenericRpcHandler) -> None:
        self._inner = inner
        self._cache: dict[str, Any] = {}

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Any:
        method = handler_call_details.method
        handler = self._cache.get(method)
        if handler is None:
            handler = self._inner.service(handler_call_details)
            if handler is not None and handler.request_deserializer is not None:
                handler = handler._replace(
                    request_deserializer=_tolerant(handler.request_deserializer)
                )
            self._cache[method] = handler
        return handler


class TolerantRegistration:
    """Stands for the server in a generated ``add_*_to_server`` call."""

    def __init__(self, server: Any) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers(tuple(_TolerantHandler(h) for h in handlers))

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Any]) -> None:
        tolerant = {
            name: h._replace(request_deserializer=_tolerant(h.request_deserializer))
            if h.request_deserializer is not None
            else h
            for name, h in handlers.items()
        }
        self._server.add_registered_method_handlers(service, tolerant)
