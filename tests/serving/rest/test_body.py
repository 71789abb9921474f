"""The REST body reader under its size limit, driven by a hand-written ASGI ``receive``."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from typing import Any

import pytest

from modelship.errors import ClientGone, InvalidInput, PayloadTooLarge
from modelship.serving.rest.body import read_body, too_large_message

LIMIT = 100


class Receive:
    """Hands out ``messages`` in order and counts how many were asked for."""

    def __init__(self, *messages: dict[str, Any]) -> None:
        self.messages = list(messages)
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return self.messages.pop(0)


def _chunk(body: bytes, more: bool = False) -> dict[str, Any]:
    return {"type": "http.request", "body": body, "more_body": more}


def _scope(content_length: bytes | None = None, *other: tuple[bytes, bytes]) -> dict[str, Any]:
    headers = [(b"content-type", b"application/json"), *other]
    if content_length is not None:
        headers.append((b"content-length", content_length))
    return {"type": "http", "headers": headers}


def _read(scope: dict[str, Any], receive: Receive, limit: int = LIMIT) -> bytes:
    return asyncio.run(read_body(scope, receive, limit))


def test_a_body_in_one_message_is_returned_as_is() -> None:
    receive = Receive(_chunk(b'{"instances": [1]}'))
    assert _read(_scope(b"18"), receive) == b'{"instances": [1]}'
    assert receive.calls == 1


def test_a_chunked_body_without_content_length_is_joined() -> None:
    receive = Receive(_chunk(b"ab", True), _chunk(b"", True), _chunk(b"cd", True), _chunk(b"e"))
    assert _read(_scope(), receive) == b"abcde"
    assert receive.calls == 4


def test_a_message_without_a_body_key_is_an_empty_body() -> None:
    assert _read(_scope(), Receive({"type": "http.request"})) == b""


def test_a_body_of_exactly_the_limit_is_read() -> None:
    body = b"x" * LIMIT
    assert (
        _read(_scope(str(LIMIT).encode()), Receive(_chunk(body[:60], True), _chunk(body[60:])))
        == body
    )


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    receive = Receive(_chunk(b"x"))
    with pytest.raises(PayloadTooLarge) as caught:
        _read(_scope(b"101"), receive)
    assert caught.value.message == too_large_message(101, LIMIT)
    assert receive.calls == 0


def test_a_body_longer_than_its_declared_length_is_still_cut_at_the_limit() -> None:
    # The header says 10 bytes; the chunks go on past the limit.
    receive = Receive(_chunk(b"x" * 60, True), _chunk(b"x" * 60, True), _chunk(b"x" * 60))
    with pytest.raises(PayloadTooLarge) as caught:
        _read(_scope(b"10"), receive)
    assert caught.value.message == too_large_message(120, LIMIT)
    assert receive.calls == 2  # nothing is read past the chunk that crossed the limit


def test_a_body_shorter_than_its_declared_length_is_what_arrived() -> None:
    assert _read(_scope(b"90"), Receive(_chunk(b"short"))) == b"short"


def test_a_chunked_body_over_the_limit_is_refused_at_the_chunk_that_crosses_it() -> None:
    receive = Receive(*[_chunk(b"x" * 30, True) for _ in range(10)])
    with pytest.raises(PayloadTooLarge, match="request body of 120 bytes exceeds the limit"):
        _read(_scope(), receive)
    assert receive.calls == 4


@pytest.mark.parametrize(
    "value", [b"", b"abc", b"-1", b"+5", b"1e3", b" 5", b"5 ", b"0x10", b"1.0"]
)
def test_a_content_length_that_is_not_a_number_is_refused(value: bytes) -> None:
    receive = Receive(_chunk(b"x"))
    with pytest.raises(InvalidInput, match="Content-Length must be a number of bytes") as caught:
        _read(_scope(value), receive)
    assert not isinstance(caught.value, PayloadTooLarge)
    assert receive.calls == 0


@pytest.mark.parametrize("digits", [19, 40, 5000])
def test_a_content_length_too_long_to_be_true_is_too_large(digits: int) -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        _read(_scope(b"9" * digits), Receive(_chunk(b"x")))
    assert caught.value.message.startswith(
        "request body of at least 1000000000000000000 bytes exceeds the limit of 100 bytes"
    )


def test_leading_zeros_in_the_content_length_do_not_count() -> None:
    assert _read(_scope(b"0" * 30 + b"5"), Receive(_chunk(b"hello"))) == b"hello"


def test_other_headers_do_not_count_as_a_length() -> None:
    scope = _scope(None, (b"x-content-length", b"999999"), (b"content-type", b"abc"))
    assert _read(scope, Receive(_chunk(b"ok"))) == b"ok"


def test_a_disconnect_before_any_body_means_the_client_is_gone() -> None:
    with pytest.raises(ClientGone, match="disconnected before sending the whole body"):
        _read(_scope(b"5"), Receive({"type": "http.disconnect"}))


def test_a_disconnect_in_the_middle_of_a_chunked_body_means_the_client_is_gone() -> None:
    receive = Receive(_chunk(b"ab", True), {"type": "http.disconnect"}, _chunk(b"never"))
    with pytest.raises(ClientGone):
        _read(_scope(), receive)
    assert receive.calls == 2


def test_the_too_large_message_says_what_to_do() -> None:
    assert too_large_message(5000, 4096) == (
        "request body of 5000 bytes exceeds the limit of 4096 bytes; send binary tensors or "
        "b64 images, or raise --max_body_bytes"
    )


def _raw_deflate(data: bytes) -> bytes:
    deflater = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return deflater.compress(data) + deflater.flush()


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        (b"gzip", gzip.compress),
        (b"deflate", zlib.compress),
        # Raw deflate data, without zlib's header, as some clients send it.
        (b"deflate", _raw_deflate),
        (b"identity", lambda data: data),
    ],
)
def test_a_compressed_body_is_inflated(encoding: bytes, compress: Any) -> None:
    body = b'{"inputs": [1, 2, 3]}' * 4
    scope = _scope(None, (b"content-encoding", encoding))
    assert _read(scope, Receive(_chunk(compress(body))), limit=len(body)) == body


def test_the_limit_holds_for_the_inflated_size() -> None:
    bomb = gzip.compress(b"0" * 10_000_000)
    assert len(bomb) < LIMIT * 100
    scope = _scope(None, (b"content-encoding", b"gzip"))
    with pytest.raises(PayloadTooLarge, match="inflated"):
        _read(scope, Receive(_chunk(bomb)), limit=LIMIT * 100)


@pytest.mark.parametrize(
    ("encoding", "body", "words"),
    [
        (b"gzip", b"not gzip at all", "not valid gzip data"),
        (b"gzip", gzip.compress(b"x" * 50)[:-12], "ends before"),
        (b"br", b"anything", "unsupported Content-Encoding 'br'"),
    ],
)
def test_bad_compressed_bodies_are_refused(encoding: bytes, body: bytes, words: str) -> None:
    scope = _scope(None, (b"content-encoding", encoding))
    with pytest.raises(InvalidInput, match=words) as refused:
        _read(scope, Receive(_chunk(body)))
    assert not isinstance(refused.value, PayloadTooLarge)
