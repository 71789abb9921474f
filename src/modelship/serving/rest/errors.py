"""Maps modelship's errors to HTTP answers, once, with TF Serving's status table; shared by the
predict fast path and the routed app."""

from __future__ import annotations

import logging
import socket

import orjson
from starlette.requests import Request
from starlette.responses import Response

from modelship.errors import DeviceOutOfMemory, ModelshipError, PayloadTooLarge

__all__ = [
    "HTTP_STATUS",
    "JSON_HEADER",
    "REPLICA_HEADER",
    "error_answer",
    "error_response",
    "handle_modelship_error",
    "handle_unexpected",
    "unexpected_answer",
]

logger = logging.getLogger("modelship.rest")

# Canonical status code name -> HTTP status, as TF Serving's REST handler maps them.
HTTP_STATUS = {
    "OK": 200,
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
}

JSON_HEADER = (b"content-type", b"application/json")
# Names the answering replica (its hostname) on every response, for load-balancer checks.
REPLICA_HEADER = (b"x-modelship-replica", socket.gethostname().encode())


def error_answer(exc: ModelshipError, v2: bool = False) -> tuple[int, bytes]:
    """The HTTP status and the ``{"error": "..."}`` body for ``exc``: TF Serving's wording, or
    the Open Inference Protocol's when ``v2``."""
    if isinstance(exc, PayloadTooLarge):
        status = 413
    elif isinstance(exc, DeviceOutOfMemory):
        status = 503  # the server is fine; this request found the GPU full
    else:
        status = HTTP_STATUS.get(exc.code, 500)
    return status, _error_body(exc.v2_message if v2 else exc.message)


def _error_body(message: str) -> bytes:
    try:
        return orjson.dumps({"error": message})
    except TypeError:  # a lone surrogate echoed from the request, which JSON cannot carry
        return orjson.dumps({"error": message.encode("utf-8", "backslashreplace").decode()})


def unexpected_answer(exc: Exception, method: str, path: str) -> tuple[int, bytes]:
    """A bug of ours, or a runtime failing on input that passed validation: log the traceback,
    tell the client what failed (500), and keep serving."""
    logger.error("unexpected error on %s %s", method, path, exc_info=exc)
    return 500, _error_body(f"internal error: {type(exc).__name__}: {exc}")


def error_response(message: str, status: int) -> Response:
    """TF Serving's error body: ``{"error": "..."}`` as JSON."""
    return Response(_error_body(message), status_code=status, media_type="application/json")


async def handle_modelship_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, ModelshipError):  # pragma: no cover - registered for this type only
        return await handle_unexpected(request, exc)
    status, body = error_answer(exc, v2=request.url.path.startswith("/v2"))
    return Response(body, status_code=status, media_type="application/json")


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    status, body = unexpected_answer(exc, request.method, request.url.path)
    return Response(body, status_code=status, media_type="application/json")
