"""Reads a request body under a size limit, so one huge upload cannot exhaust memory; a gzip or
deflate body (``Content-Encoding``) is inflated under the same limit."""

from __future__ import annotations

import zlib

from starlette.types import Receive, Scope

from modelship.errors import ClientGone, InvalidInput, PayloadTooLarge

__all__ = ["read_body", "too_large_message"]


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body, or :class:`PayloadTooLarge` as soon as it passes ``limit`` bytes; a
    compressed body is inflated, and the limit holds for its inflated size."""
    encoding = b""
    for name, value in scope["headers"]:
        if name == b"content-encoding":
            encoding = value.strip().lower()
        elif name == b"content-length":
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
            body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            return _inflate(body, encoding, limit) if encoding else body


def _inflate(body: bytes, encoding: bytes, limit: int) -> bytes:
    """``body`` decompressed, never to more than ``limit`` bytes (a small body may inflate a
    thousandfold: the limit is checked while inflating, not after)."""
    if encoding == b"identity":
        return body
    if encoding in (b"gzip", b"x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == b"deflate":
        # HTTP's deflate is a zlib stream; some clients send raw deflate data instead.
        zlib_header = len(body) >= 2 and body[0] & 0x0F == 8 and (body[0] << 8 | body[1]) % 31 == 0
        wbits = zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS
    else:
        raise InvalidInput(
            f"unsupported Content-Encoding {encoding.decode('latin-1')!r}: send gzip, deflate "
            "or an uncompressed body"
        )
    inflater = zlib.decompressobj(wbits)
    try:
        inflated = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise InvalidInput(
            f"the body is not valid {encoding.decode()} data ({exc}); check Content-Encoding"
        ) from None
    if len(inflated) > limit:
        raise PayloadTooLarge(too_large_message(f"more than {limit} inflated", limit))
    if not inflater.eof:
        raise InvalidInput(f"the {encoding.decode()} body ends before its compressed stream does")
    return inflated


def too_large_message(size: int | str, limit: int) -> str:
    """What to tell a client whose body is over the limit."""
    return (
        f"request body of {size} bytes exceeds the limit of {limit} bytes; send binary tensors "
        "or b64 images, or raise --max_body_bytes"
    )
