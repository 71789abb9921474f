"""``modelship.json``: what a version directory holds and where it came from.

Written by the exporters, read by the serving runtimes, the lineage commands and validation.
Unknown keys are kept, so newer writers and older readers get along.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelship.signature import DEFAULT_SIGNATURE, Signature

__all__ = ["MANIFEST_NAME", "Manifest"]

MANIFEST_NAME = "modelship.json"
FORMAT_VERSION = 1


@dataclass
class Manifest:
    """The contents of ``modelship.json``.

    Attributes:
        name: model name (the repository folder under ``models/``).
        framework: ``torch`` or ``tensorflow``: what the model was trained with.
        artifacts: role -> file name inside the version, e.g. ``{"onnx": "model.onnx"}``.
        signatures: signature name -> signature; ``serving_default`` first.
        labels: class names, index-aligned with the model's class axis.
        metrics: evaluation results (``test_accuracy``...) and per-epoch history.
        parameters: training parameters (epochs, batch size, learning rate, seed...).
        data: dataset name, fingerprint, sizes and input statistics.
        preprocessing: what the server does to raw inputs (image models), if anything.
        code_version: modelship version and git commit of the code that trained the model.
        framework_versions: package -> version used for training and export.
        created_at: ISO 8601 UTC timestamp.
        version: the integer version directory this manifest was written into.
    """

    name: str
    framework: str
    signatures: dict[str, Signature]
    artifacts: dict[str, str] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    preprocessing: dict[str, Any] = field(default_factory=dict)
    code_version: dict[str, Any] = field(default_factory=dict)
    framework_versions: dict[str, str] = field(default_factory=dict)
    created_at: str = ""
    version: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def default_signature(self) -> Signature:
        if DEFAULT_SIGNATURE in self.signatures:
            return self.signatures[DEFAULT_SIGNATURE]
        return next(iter(self.signatures.values()))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.extra)
        data.update(
            format=FORMAT_VERSION,
            name=self.name,
            version=self.version,
            framework=self.framework,
            artifacts=self.artifacts,
            signatures={k: v.to_json() for k, v in self.signatures.items()},
            labels=self.labels,
            metrics=self.metrics,
            parameters=self.parameters,
            data=self.data,
            preprocessing=self.preprocessing,
            code_version=self.code_version,
            framework_versions=self.framework_versions,
            created_at=self.created_at,
        )
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        known = {
            "format", "name", "version", "framework", "artifacts", "signatures", "labels",
            "metrics", "parameters", "data", "preprocessing", "code_version",
            "framework_versions", "created_at",
        }  # fmt: skip
        return cls(
            name=str(data.get("name", "")),
            version=int(data.get("version", 0)),
            framework=str(data.get("framework", "")),
            artifacts=dict(data.get("artifacts", {})),
            signatures={
                k: Signature.from_json({"name": k, **v})
                for k, v in data.get("signatures", {}).items()
            },
            labels=[str(x) for x in data.get("labels", [])],
            metrics=dict(data.get("metrics", {})),
            parameters=dict(data.get("parameters", {})),
            data=dict(data.get("data", {})),
            preprocessing=dict(data.get("preprocessing", {})),
            code_version=dict(data.get("code_version", {})),
            framework_versions=dict(data.get("framework_versions", {})),
            created_at=str(data.get("created_at", "")),
            extra={k: v for k, v in data.items() if k not in known},
        )

    def write(self, directory: Path) -> Path:
        path = directory / MANIFEST_NAME
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n")
        return path

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        return cls.from_json(json.loads((directory / MANIFEST_NAME).read_text()))
