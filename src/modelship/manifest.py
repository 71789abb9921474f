"""``modelship.json``: what a version directory holds and where it came from.

Written by the exporters, read by the serving runtimes, the lineage commands and validation.
Unknown keys are kept, so newer writers and older readers get along. The file's form is
documented by a JSON Schema shipped with the package (``schemas/modelship.schema.json``);
:meth:`Manifest.read` checks a file against it, so a malformed one is refused with the
schema's reason instead of failing somewhere later.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from modelship.errors import BadConfig
from modelship.signature import DEFAULT_SIGNATURE, Signature

__all__ = ["MANIFEST_NAME", "SCHEMA_NAME", "Manifest", "manifest_schema", "validate_manifest"]

MANIFEST_NAME = "modelship.json"
SCHEMA_NAME = "modelship.schema.json"
FORMAT_VERSION = 1


@functools.cache
def manifest_schema() -> dict[str, Any]:
    """The JSON Schema of ``modelship.json`` (format 1), as shipped in ``modelship/schemas``."""
    text = resources.files("modelship.schemas").joinpath(SCHEMA_NAME).read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(manifest_schema())


def validate_manifest(data: Any, where: str = MANIFEST_NAME) -> None:
    """Check ``data`` (a parsed ``modelship.json``) against the schema.

    Raises:
        BadConfig: it does not conform; the message names the offending key path and why.
    """
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        at = "/".join(str(p) for p in first.absolute_path) or "(top level)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise BadConfig(
            f"{where} does not follow the modelship.json schema (format {FORMAT_VERSION}): "
            f"at {at}: {first.message}{more}"
        )


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
        """Read and check ``directory/modelship.json``.

        Raises:
            FileNotFoundError: there is no such file.
            BadConfig: it is not JSON, or it does not follow the schema.
        """
        path = directory / MANIFEST_NAME
        try:
            data = json.loads(path.read_text())
        except ValueError as exc:  # JSONDecodeError and undecodable bytes
            raise BadConfig(f"{path} is not valid JSON: {exc}") from exc
        validate_manifest(data, str(path))
        return cls.from_json(data)
