"""Reads a request body under a size limit, so one huge upload cannot exhaust memory."""

from __future__ import annotations

from starlette.requests import Request

from modelship.errors import InvalidInput, PayloadTooLarge

__all__ = ["read_body"]


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or :class:`PayloadTooLarge` as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise InvalidInput("Content-Length must be a number of bytes")
        if int(declared) > limit:
            raise PayloadTooLarge(_too_large(int(declared), limit))
        return await request.body()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(_too_large(size, limit))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int, limit: int) -> str:
    return (
        f"request body of {size} bytes exceeds the limit of {limit} bytes; send binary tensors "
        "or b64 images, or raise --max_body_bytes"
    )
