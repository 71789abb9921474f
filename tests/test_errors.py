"""The error hierarchy: each error's canonical code, and that both protocols can answer it."""

from __future__ import annotations

import grpc
import pytest

import modelship.errors as errors_module
from modelship.errors import (
    AlreadyExists,
    BadConfig,
    ClientGone,
    DataUnavailable,
    DeadlineExceeded,
    DeviceOutOfMemory,
    FailedPrecondition,
    InvalidInput,
    ModelNotFound,
    ModelshipError,
    PayloadTooLarge,
    RequestTooLarge,
    ResourceExhausted,
    RuntimeUnavailable,
    ServingUnavailable,
    SignatureNotFound,
    Unimplemented,
    VersionNotFound,
)
from modelship.serving.grpc.errors import GRPC_STATUS
from modelship.serving.rest.errors import HTTP_STATUS, error_answer

# Every error class: its canonical code, HTTP status (TF Serving's table) and gRPC code.
TABLE: list[tuple[type[ModelshipError], str, int, grpc.StatusCode]] = [
    (ModelshipError, "UNKNOWN", 500, grpc.StatusCode.UNKNOWN),
    (InvalidInput, "INVALID_ARGUMENT", 400, grpc.StatusCode.INVALID_ARGUMENT),
    (PayloadTooLarge, "INVALID_ARGUMENT", 413, grpc.StatusCode.INVALID_ARGUMENT),
    (RequestTooLarge, "RESOURCE_EXHAUSTED", 413, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (SignatureNotFound, "INVALID_ARGUMENT", 400, grpc.StatusCode.INVALID_ARGUMENT),
    (FailedPrecondition, "FAILED_PRECONDITION", 400, grpc.StatusCode.FAILED_PRECONDITION),
    (ClientGone, "CANCELLED", 499, grpc.StatusCode.CANCELLED),
    (ModelNotFound, "NOT_FOUND", 404, grpc.StatusCode.NOT_FOUND),
    (VersionNotFound, "NOT_FOUND", 404, grpc.StatusCode.NOT_FOUND),
    (ServingUnavailable, "UNAVAILABLE", 503, grpc.StatusCode.UNAVAILABLE),
    (DeadlineExceeded, "DEADLINE_EXCEEDED", 504, grpc.StatusCode.DEADLINE_EXCEEDED),
    (ResourceExhausted, "RESOURCE_EXHAUSTED", 429, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (DeviceOutOfMemory, "RESOURCE_EXHAUSTED", 503, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (Unimplemented, "UNIMPLEMENTED", 501, grpc.StatusCode.UNIMPLEMENTED),
    (AlreadyExists, "ALREADY_EXISTS", 409, grpc.StatusCode.ALREADY_EXISTS),
    (RuntimeUnavailable, "FAILED_PRECONDITION", 400, grpc.StatusCode.FAILED_PRECONDITION),
    (BadConfig, "INVALID_ARGUMENT", 400, grpc.StatusCode.INVALID_ARGUMENT),
    (DataUnavailable, "NOT_FOUND", 404, grpc.StatusCode.NOT_FOUND),
]


def test_the_table_lists_every_exported_error() -> None:
    exported = {getattr(errors_module, name) for name in errors_module.__all__}
    assert exported == {row[0] for row in TABLE}


@pytest.mark.parametrize(
    ("error", "code", "http", "grpc_code"), TABLE, ids=[row[0].__name__ for row in TABLE]
)
def test_each_error_has_its_code_an_http_status_and_a_grpc_status(
    error: type[ModelshipError], code: str, http: int, grpc_code: grpc.StatusCode
) -> None:
    exc = error("what went wrong")
    assert exc.code == code
    assert code in HTTP_STATUS
    assert GRPC_STATUS[code] is grpc_code
    assert error_answer(exc) == (http, b'{"error":"what went wrong"}')


@pytest.mark.parametrize("error", [row[0] for row in TABLE], ids=[row[0].__name__ for row in TABLE])
def test_every_error_keeps_its_message_and_is_a_modelship_error(
    error: type[ModelshipError],
) -> None:
    exc = error("details: 3 > 2")
    assert isinstance(exc, ModelshipError)
    assert exc.message == "details: 3 > 2"
    assert str(exc) == "details: 3 > 2"
    assert exc.args == ("details: 3 > 2",)


def test_specific_errors_are_caught_as_their_general_kind() -> None:
    assert issubclass(PayloadTooLarge, InvalidInput)
    assert issubclass(SignatureNotFound, InvalidInput)
    assert issubclass(VersionNotFound, ModelNotFound)
    with pytest.raises(ModelNotFound):
        raise VersionNotFound("Specific(toy, 2)")


def test_the_http_and_grpc_tables_name_the_same_codes() -> None:
    assert set(HTTP_STATUS) == set(GRPC_STATUS)
