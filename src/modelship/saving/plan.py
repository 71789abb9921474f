"""What each framework's exporter hands to :mod:`modelship.saving.api`: the artifacts to write,
which runtime serves each, the signature, and the original model's answers to compare with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from modelship.signature import Arrays, Signature

__all__ = ["Artifact", "ExportPlan"]


@dataclass(frozen=True)
class Artifact:
    """One file (or file set) of a version.

    Attributes:
        role: the manifest's ``artifacts`` key (``onnx``, ``torch``, ``savedmodel``, ``keras``).
        name: what it is called in the version (``model.onnx``, ``saved_model.pb``...).
        write: writes it into the directory it is given.
        runtime: the runtime that serves it, and so checks it; ``""`` for a file no runtime
            serves (e.g. ``model.keras``, kept for retraining).
        required: a required artifact that fails stops the publish; an optional one (a
            conversion, such as ``model.onnx`` of a Keras model) is left out with a warning.
        paths: every path it writes, relative to the version, removed when it is left out.
    """

    role: str
    name: str
    write: Callable[[Path], None]
    runtime: str = ""
    required: bool = True
    paths: tuple[str, ...] = ()


@dataclass
class ExportPlan:
    """Everything a framework exporter knows about the model to publish.

    Attributes:
        framework: the manifest's ``framework``.
        signature: the signature clients see (names, dtypes, shapes; batch dimension -1).
        artifacts: in the order they are written; each one verified on its own.
        example_inputs: the inputs the artifacts are checked with, by input name.
        original_outputs: what the original model answered for them, by output name; ``None``
            when there is no original to run (an ONNX file given as it is, without outputs).
        framework_versions: package -> version of what exported the model.
        parameters: facts about the export recorded in the manifest (source file, opset...).
        warnings: what the exporter noticed that the user should know.
    """

    framework: str
    signature: Signature
    artifacts: list[Artifact]
    example_inputs: Arrays
    original_outputs: Arrays | None
    framework_versions: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, object] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
