"""The runtime interface: something that turns named input arrays into named output arrays."""

from __future__ import annotations

from typing import Protocol

from modelship.signature import Arrays, Signature

__all__ = ["Arrays", "Runtime"]


class Runtime(Protocol):
    """A loaded model version, ready to compute.

    Implementations hold no API knowledge: inputs arrive validated against ``signatures`` and
    already batched; outputs must keep the batch dimension first.
    """

    name: str
    signatures: dict[str, Signature]

    def predict(self, signature_name: str, inputs: Arrays) -> Arrays:
        """Run one batch through the named signature."""
        ...

    def close(self) -> None:
        """Release the model's memory; the runtime is unusable afterwards."""
        ...
