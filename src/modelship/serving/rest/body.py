"""Reads a request body under a size limit, so one huge upload cannot exhaust memory."""

from __future__ import annotations

from starlette.requests import Request

from modelship.errors import InvalidInput, PayloadTooLarge

__all__ = ["read_body", "too_large_message"]


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or :class:`PayloadTooLarge` as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise InvalidInput("Content-Length must be a number of bytes")
        if int(declared) > limit:
            raise PayloadTooLarge(too_large_message(int(declared), limit))
        return await request.body()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(too_large_message(size, limit))
        chunks.append(chunk)
    return b"".join(chunks)


def too_large_message(size: int, limit: int) -> str:
    """What to tell a client whose body is over the limit."""
    return (
        f"request body of {size} bytes exceeds the limit of {limit} bytes; send binary tensors "
        "or b64 images, or raise --max_body_bytes"
    )
