"""One exception hierarchy for the whole toolkit.

Each error carries the canonical status code name that TensorFlow Serving would answer with;
the REST and gRPC adapters map that name once to an HTTP status or a gRPC code, so the
dataplane never knows which protocol it is serving.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AlreadyExists",
    "BadConfig",
    "ClientGone",
    "DataUnavailable",
    "DeadlineExceeded",
    "DeviceOutOfMemory",
    "FailedPrecondition",
    "InvalidInput",
    "ModelNotFound",
    "ModelshipError",
    "PayloadTooLarge",
    "RequestTooLarge",
    "ResourceExhausted",
    "RuntimeUnavailable",
    "ServingUnavailable",
    "SignatureNotFound",
    "Unimplemented",
    "VersionNotFound",
]


class ModelshipError(Exception):
    """Base of every error modelship raises on purpose."""

    code: ClassVar[str] = "UNKNOWN"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        # The wording on the Open Inference Protocol's endpoints, where it differs.
        self.v2_message = message


class InvalidInput(ModelshipError):
    """The request is malformed or does not match the signature."""

    code = "INVALID_ARGUMENT"


class PayloadTooLarge(InvalidInput):
    """The request body is larger than the configured limit (HTTP 413)."""


class RequestTooLarge(PayloadTooLarge):
    """The request declares more than a configured limit allows (rows, decoded bytes, image
    size): HTTP 413, gRPC RESOURCE_EXHAUSTED; the message names the flag that raises it."""

    code = "RESOURCE_EXHAUSTED"


class SignatureNotFound(InvalidInput):
    """The request names a signature the version does not have."""


class FailedPrecondition(ModelshipError):
    """The operation cannot run in the current state (e.g. a label on an unavailable version)."""

    code = "FAILED_PRECONDITION"


class ClientGone(ModelshipError):
    """The client went away before its request was read; nobody is left to answer."""

    code = "CANCELLED"


class ModelNotFound(ModelshipError):
    """No model with that name is configured.

    ``message`` is TF Serving's wording; ``v2_message`` says the same in the Open Inference
    Protocol's (Triton's), which its clients expect: one error, each protocol its own words.
    """

    code = "NOT_FOUND"

    def __init__(self, message: str, v2_message: str = "") -> None:
        super().__init__(message)
        self.v2_message = v2_message or message


class VersionNotFound(ModelNotFound):
    """The model exists but not that version or label."""


class ServingUnavailable(ModelshipError):
    """The server is shutting down or cannot take work right now."""

    code = "UNAVAILABLE"


class DeadlineExceeded(ModelshipError):
    """The request took longer than the server allows (``--rest_api_timeout_in_ms``)."""

    code = "DEADLINE_EXCEEDED"


class ResourceExhausted(ModelshipError):
    """A queue is full; the client should back off and retry."""

    code = "RESOURCE_EXHAUSTED"


class DeviceOutOfMemory(ResourceExhausted):
    """The GPU ran out of memory for this request (HTTP 503: the server itself is fine)."""


class Unimplemented(ModelshipError):
    """The method exists in the protocol but this model cannot serve it."""

    code = "UNIMPLEMENTED"


class AlreadyExists(ModelshipError):
    """Refused to overwrite something that exists (e.g. a published version)."""

    code = "ALREADY_EXISTS"


class RuntimeUnavailable(ModelshipError):
    """The runtime a version needs is not installed; the message names the extra to install."""

    code = "FAILED_PRECONDITION"


class BadConfig(ModelshipError):
    """A configuration file or flag is wrong; the message says where."""

    code = "INVALID_ARGUMENT"


class DataUnavailable(ModelshipError):
    """A dataset is missing and could not be fetched; the message lists what was tried."""

    code = "NOT_FOUND"
