"""The runtime interface: something that turns named input arrays into named output arrays."""

from __future__ import annotations

from typing import Protocol

from modelship.errors import InvalidInput
from modelship.signature import Arrays, Signature

__all__ = ["Arrays", "Runtime", "refused_input"]


def refused_input(reason: object) -> InvalidInput:
    """The error for inputs that pass the signature but that the model itself refuses (an id
    past an embedding's rows, a shape the graph cannot reshape): the client's to fix, so a
    400 / INVALID_ARGUMENT with the runtime's own reason, on one line."""
    text = " ".join(str(reason).split()) or type(reason).__name__
    return InvalidInput(f"the model refused the input: {text}")


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
