"""A new version must keep the serving version's signature: clients are written against it."""

from __future__ import annotations

from modelship.errors import FailedPrecondition
from modelship.registry import ServedVersion
from modelship.runtimes.base import Runtime
from modelship.signature import Signature, TensorSpec

__all__ = ["require_same_signature"]


def require_same_signature(previous: ServedVersion | None, version: int, runtime: Runtime) -> None:
    """Refuse ``runtime`` (version ``version``) if its tensors differ from ``previous``'s.

    Raises:
        FailedPrecondition: the signatures differ; the message shows both.
    """
    served = previous.runtime if previous is not None else None
    if previous is None or served is None:
        return
    before, after = served.signatures, runtime.signatures
    if _tensors(before) != _tensors(after):
        raise FailedPrecondition(
            f"the signature of version {version} differs from the serving "
            f"version {previous.version}'s ({_describe(after)} vs {_describe(before)}); "
            "clients would break: publish it under a new model name, or restart the "
            "server to accept the change"
        )


def _tensors(signatures: dict[str, Signature]) -> dict[str, object]:
    return {name: (s.inputs, s.outputs) for name, s in signatures.items()}


def _describe(signatures: dict[str, Signature]) -> str:
    def tensors(specs: dict[str, TensorSpec]) -> str:
        return ", ".join(f"{k} {v.dtype}{list(v.shape)}" for k, v in specs.items())

    return "; ".join(
        f"{name}: ({tensors(s.inputs)}) -> ({tensors(s.outputs)})" for name, s in signatures.items()
    )
