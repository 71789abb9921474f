"""The protocol-neutral inference request and response that every front end speaks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelship.data.images import ImagePreprocessing
from modelship.signature import Arrays, Signature

__all__ = ["InferenceRequest", "InferenceResponse", "InputDecoder", "ModelSpec", "RequestSource"]

# Reads a request's input arrays once its signature (and image preprocessing, for image models)
# is known: TF Serving's JSON names its inputs only by their place in the signature.
InputDecoder = Callable[[Signature, ImagePreprocessing | None], Arrays]


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """Which model and version (or version label) a request addresses, as in TF Serving."""

    name: str
    version: int | None = None
    label: str | None = None


@dataclass(slots=True)
class InferenceRequest:
    """One inference, whatever protocol it came in.

    Attributes:
        inputs: the named input arrays, or how to decode them once the signature is known.
        output_filter: the outputs to return, in that order; empty returns all.
        timeout: seconds the inference may take (None: no limit); ``timeout_source`` says
            where the limit comes from, for the error message.
        typed: the client declared each input's datatype (the Open Inference Protocol), so
            it must be the signature's or widen to it (see :mod:`modelship.codecs.conform`).
    """

    inputs: Arrays | InputDecoder
    signature_name: str = ""
    output_filter: Sequence[str] = ()
    top_k: int | None = None
    timeout: float | None = None
    timeout_source: str = "the caller's deadline"
    typed: bool = False


# A request, or how to read it once the version is resolved (a REST body is read only then).
RequestSource = InferenceRequest | Callable[[], Awaitable[InferenceRequest]]


@dataclass(slots=True)
class InferenceResponse:
    """The outputs of one inference and the version that computed them."""

    model: str
    version: int
    signature_name: str
    outputs: Arrays
    labels: list[str] = field(default_factory=list)
    # classify's (label, score) lists or regress's values, per example.
    results: Any = None
