"""The model, version and label a REST path addresses, read once for every route."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelship.codecs.versions import parse_version
from modelship.serving.inference import ModelSpec

__all__ = ["parse_predict_path", "spec_of"]

_PREFIX = "/v1/models/"
_SUFFIX = ":predict"


def spec_of(params: Mapping[str, Any]) -> ModelSpec:
    """The :class:`ModelSpec` of a route's path parameters (``model``, ``version``, ``label``)."""
    version = params.get("version")
    return ModelSpec(
        name=params["model"],
        version=parse_version(version) if version is not None else None,
        label=params.get("label"),
    )


def parse_predict_path(path: str) -> ModelSpec | None:
    """The model, version or label of a TF Serving predict path; None when it is not one.
    String operations only: this runs for every predict request, before any routing."""
    if not (path.startswith(_PREFIX) and path.endswith(_SUFFIX)):
        return None
    parts = path[len(_PREFIX) : -len(_SUFFIX)].split("/")
    if not parts[0] or ":" in parts[0]:
        return None
    if len(parts) == 1:
        return ModelSpec(parts[0])
    if len(parts) != 3 or not parts[2]:
        return None
    if parts[1] == "versions":
        return ModelSpec(parts[0], version=parse_version(parts[2]))
    if parts[1] == "labels":
        return ModelSpec(parts[0], label=parts[2])
    return None
