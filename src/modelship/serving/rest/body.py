"""Reads a request body under a size limit, so one huge upload cannot exhaust memory."""

from __future__ import annotations

from starlette.types import Receive, Scope

from modelship.errors import ClientGone, InvalidInput, PayloadTooLarge

__all__ = ["read_body", "too_large_message"]


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body, or :class:`PayloadTooLarge` as soon as it passes ``limit`` bytes."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            if not (value.isdigit() and value.isascii()):
                raise InvalidInput("Content-Length must be a number of bytes")
            # Leading zeros do not count; past 18 digits no limit is met (and int() refuses
            # thousands of digits).
            digits = value.lstrip(b"0") or b"0"
            if len(digits) > 18:
                raise PayloadTooLarge(too_large_message(f"at least {10**18}", limit))
            if int(digits) > limit:
                raise PayloadTooLarge(too_large_message(int(digits), limit))
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone("the client disconnected before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(too_large_message(size, limit))
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def too_large_message(size: int | str, limit: int) -> str:
    """What to tell a client whose body is over the limit."""
    return (
        f"request body of {size} bytes exceeds the limit of {limit} bytes; send binary tensors "
        "or b64 images, or raise --max_body_bytes"
    )
