"""What Classify and Regress make of a response, under two contracts: TF Serving's, for a
classify or regress signature that takes serialized examples (``classes``/``scores``,
``outputs``), and modelship's, for any other (its single output, the manifest's labels)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modelship.codecs.examples import serialized_input
from modelship.errors import FailedPrecondition, InvalidInput
from modelship.serving.inference import InferenceResponse
from modelship.signature import CLASSIFY_METHOD, REGRESS_METHOD, Signature

__all__ = ["check_method", "results"]

_TF_METHODS = {"classify": CLASSIFY_METHOD, "regress": REGRESS_METHOD}


def _method_fits(signature: Signature, method: str) -> None:
    if signature.method_name != _TF_METHODS[method]:
        raise InvalidInput(
            f"Expected {method} signature method_name to be {_TF_METHODS[method]}. "
            f"Was: {signature.method_name}"
        )


def _single_output(signature: Signature, method: str) -> None:
    if len(signature.outputs) != 1:
        raise FailedPrecondition(
            f"{method} needs a signature with exactly one output; this one has "
            f"{', '.join(signature.outputs)}: call Predict instead"
        )


def _classes(response: InferenceResponse) -> list[list[tuple[str, float]]]:
    labels = response.labels
    if not labels:
        raise FailedPrecondition(
            f"classify needs class labels, and {response.model} version {response.version} "
            "lists none in its modelship.json; call Predict for the raw scores"
        )
    ((output, scores),) = response.outputs.items()
    if scores.ndim != 2 or scores.shape[1] != len(labels):
        raise FailedPrecondition(
            f"classify needs scores shaped [batch, {len(labels)}] (one per label); "
            f"output {output!r} is shaped {list(scores.shape)}"
        )
    return [
        [(label, float(score)) for label, score in zip(labels, row, strict=True)]
        for row in scores.tolist()
    ]


def _values(response: InferenceResponse) -> list[float]:
    ((output, values),) = response.outputs.items()
    if values.ndim == 0 or values[0].size != 1:
        raise FailedPrecondition(
            f"regress needs one value per example; output {output!r} is shaped "
            f"{list(values.shape)}: call Predict instead"
        )
    return [float(v) for v in values.reshape(-1).tolist()]


# What classify and regress make of a response's single output.
_RESULTS: dict[str, Callable[[InferenceResponse], Any]] = {"classify": _classes, "regress": _values}


def _tf_classes(response: InferenceResponse) -> list[list[tuple[str, float]]]:
    # TF Serving's classify signature: "classes" (strings) and/or "scores", [batch, n] each.
    outputs = response.outputs
    classes, scores = outputs.get("classes"), outputs.get("scores")
    if classes is None and scores is None:
        raise FailedPrecondition(
            "a classify signature must return classes or scores; this one returns "
            + ", ".join(outputs)
        )
    reference = scores if scores is not None else classes
    if reference is None:  # pragma: no cover - one of them is set (checked above)
        return []
    rows = reference.reshape(reference.shape[0], -1) if reference.ndim else reference.reshape(1, 1)
    labels = classes.reshape(rows.shape).tolist() if classes is not None else None
    values = scores.reshape(rows.shape).tolist() if scores is not None else None
    return [
        [
            (
                _text(labels[r][c]) if labels is not None else "",
                float(values[r][c]) if values is not None else 0.0,
            )
            for c in range(rows.shape[1])
        ]
        for r in range(rows.shape[0])
    ]


def _tf_values(response: InferenceResponse) -> list[float]:
    # TF Serving's regress signature: "outputs", one value per example.
    values = response.outputs.get("outputs")
    if values is None:
        raise FailedPrecondition(
            "a regress signature must return outputs; this one returns "
            + ", ".join(response.outputs)
        )
    if values.ndim == 0 or values[0].size != 1:
        raise FailedPrecondition(
            f"regress needs one value per example; outputs is shaped {list(values.shape)}"
        )
    return [float(v) for v in values.reshape(-1).tolist()]


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


_TF_RESULTS: dict[str, Callable[[InferenceResponse], Any]] = {
    "classify": _tf_classes,
    "regress": _tf_values,
}


def check_method(signature: Signature, method: str) -> bool:
    """Whether ``signature`` answers ``method`` (classify, regress) under TF Serving's
    contract (a classify or regress signature taking serialized examples); refuses a
    signature that can answer it under neither."""
    if serialized_input(signature) is not None:
        _method_fits(signature, method)
        return True
    _single_output(signature, method)
    return False


def results(response: InferenceResponse, method: str, tf_contract: bool) -> Any:
    """Per example, ``(label, score)`` per class (classify) or one value (regress)."""
    return (_TF_RESULTS if tf_contract else _RESULTS)[method](response)
