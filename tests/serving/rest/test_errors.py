"""modelship's errors as HTTP answers: TF Serving's status table and ``{"error": ...}`` bodies."""

from __future__ import annotations

import asyncio
import logging

import orjson
import pytest
from starlette.requests import Request

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
from modelship.serving.rest.errors import (
    HTTP_STATUS,
    JSON_HEADER,
    REPLICA_HEADER,
    error_answer,
    error_response,
    handle_modelship_error,
    handle_unexpected,
    unexpected_answer,
)


def _request(path: str = "/v1/models/toy:predict", method: str = "POST") -> Request:
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [],
        "scheme": "http",
        "server": ("modelship", 80),
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("OK", 200),
        ("CANCELLED", 499),
        ("UNKNOWN", 500),
        ("INVALID_ARGUMENT", 400),
        ("DEADLINE_EXCEEDED", 504),
        ("NOT_FOUND", 404),
        ("ALREADY_EXISTS", 409),
        ("PERMISSION_DENIED", 403),
        ("UNAUTHENTICATED", 401),
        ("RESOURCE_EXHAUSTED", 429),
        ("FAILED_PRECONDITION", 400),
        ("ABORTED", 409),
        ("OUT_OF_RANGE", 400),
        ("UNIMPLEMENTED", 501),
        ("INTERNAL", 500),
        ("UNAVAILABLE", 503),
        ("DATA_LOSS", 500),
    ],
)
def test_each_canonical_code_has_tf_servings_http_status(code: str, status: int) -> None:
    assert HTTP_STATUS[code] == status


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (InvalidInput("bad"), 400),
        (PayloadTooLarge("big"), 413),  # an InvalidInput, yet its own status
        (VersionNotFound("gone"), 404),
        (DeadlineExceeded("slow"), 504),
        (ResourceExhausted("full"), 429),
        (ServingUnavailable("stopping"), 503),
        (Unimplemented("no"), 501),
        (ClientGone("left"), 499),
        (ModelshipError("base"), 500),
    ],
)
def test_error_answer_is_the_status_and_the_message_as_json(
    exc: ModelshipError, status: int
) -> None:
    answer_status, body = error_answer(exc)
    assert answer_status == status
    assert orjson.loads(body) == {"error": exc.message}


def test_an_unknown_code_is_a_500() -> None:
    class Strange(ModelshipError):
        code = "NOT_A_CODE"

    assert error_answer(Strange("odd")) == (500, b'{"error":"odd"}')


def test_messages_are_escaped_as_json() -> None:
    _, body = error_answer(InvalidInput('quote " newline \n é'))
    assert orjson.loads(body) == {"error": 'quote " newline \n é'}


def test_an_unexpected_error_is_a_500_naming_it_and_its_traceback_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    try:
        raise KeyError("x")
    except KeyError as exc:
        error = exc
    with caplog.at_level(logging.ERROR, logger="modelship.rest"):
        status, body = unexpected_answer(error, "POST", "/v1/models/toy:predict")
    assert status == 500
    assert orjson.loads(body) == {"error": "internal error: KeyError: 'x'"}
    [record] = caplog.records
    assert record.getMessage() == "unexpected error on POST /v1/models/toy:predict"
    assert record.exc_info is not None
    assert record.exc_info[1] is error


def test_error_response_is_a_json_response_with_the_status() -> None:
    response = error_response("no such endpoint", 404)
    assert response.status_code == 404
    assert response.media_type == "application/json"
    assert orjson.loads(response.body) == {"error": "no such endpoint"}


def test_the_handler_answers_a_modelship_error_with_its_status() -> None:
    response = asyncio.run(handle_modelship_error(_request(), PayloadTooLarge("too big")))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    assert orjson.loads(response.body) == {"error": "too big"}


def test_the_unexpected_handler_answers_500_and_logs_method_and_path(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="modelship.rest"):
        response = asyncio.run(
            handle_unexpected(_request("/v1/models/toy", "GET"), ZeroDivisionError("div"))
        )
    assert response.status_code == 500
    assert orjson.loads(response.body) == {"error": "internal error: ZeroDivisionError: div"}
    assert caplog.records[0].getMessage() == "unexpected error on GET /v1/models/toy"


def test_the_shared_headers_are_json_and_the_replica_name() -> None:
    assert JSON_HEADER == (b"content-type", b"application/json")
    assert REPLICA_HEADER[0] == b"x-modelship-replica"
    assert REPLICA_HEADER[1]  # the host name, never empty
