"""The protocol-neutral core of serving: status, metadata and inference on named arrays.

The REST and gRPC adapters parse their wire format into arrays, call the dataplane, and encode
what it returns; errors are :mod:`modelship.errors` exceptions, mapped to codes by each adapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelship.errors import SignatureNotFound, VersionNotFound
from modelship.registry import Registry, ServedVersion
from modelship.runtimes.base import Arrays
from modelship.serving.executor import InferenceExecutor
from modelship.serving.inputs import conform_inputs
from modelship.signature import DEFAULT_SIGNATURE, Signature

if TYPE_CHECKING:
    from modelship.lifecycle import Lifecycle

__all__ = ["DataPlane", "ModelSpec"]


@dataclass(frozen=True)
class ModelSpec:
    """Which model, version (or label) and signature a request addresses, as in TF Serving."""

    name: str
    version: int | None = None
    label: str | None = None
    signature_name: str = ""


class DataPlane:
    """Answers every serving question from the registry; one instance per worker process."""

    def __init__(self, registry: Registry, executor: InferenceExecutor) -> None:
        self.registry = registry
        self.executor = executor
        # Set by the server: what keeps the registry in step with the repository and config.
        self.lifecycle: Lifecycle | None = None

    def resolve(self, spec: ModelSpec) -> ServedVersion:
        return self.registry.resolve(spec.name, spec.version, spec.label)

    def signature(self, served: ServedVersion, signature_name: str) -> tuple[str, Signature]:
        """The signature a request names (``serving_default`` when it names none)."""
        signatures = served.require_runtime().signatures
        name = signature_name or DEFAULT_SIGNATURE
        if name not in signatures and not signature_name and len(signatures) == 1:
            name = next(iter(signatures))
        if name not in signatures:
            raise SignatureNotFound(
                f'Serving signature name: "{name}" not found in signature def; '
                f"this version has {', '.join(sorted(signatures))}"
            )
        return name, signatures[name]

    async def predict(self, served: ServedVersion, signature_name: str, inputs: Arrays) -> Arrays:
        """Conform ``inputs`` to the signature, run them, and return the outputs."""
        name, signature = self.signature(served, signature_name)
        conformed = conform_inputs(signature, inputs)
        return await self.executor.run(served, name, conformed)

    def status(self, spec: ModelSpec) -> list[dict[str, Any]]:
        """TF Serving's ``model_version_status`` list: every version, or the one addressed."""
        entry = self.registry.model(spec.name)
        if spec.version is None and spec.label is None:
            versions = sorted(entry.versions.values(), key=lambda v: -v.version)
        else:
            version = spec.version
            if spec.label is not None:
                version = self.registry.resolve_label(spec.name, spec.label)
            served = entry.versions.get(version) if version is not None else None
            if served is None:
                raise VersionNotFound(f"Could not find version {version} of model {spec.name}")
            versions = [served]
        return [
            {
                "version": str(v.version),
                "state": v.state,
                "status": {"error_code": v.error_code, "error_message": v.error_message},
            }
            for v in versions
        ]

    def metadata(self, served: ServedVersion) -> dict[str, Any]:
        """The version's signatures in TF Serving's ``signature_def`` shape."""
        signatures = served.require_runtime().signatures
        return {name: signature.to_tf_serving() for name, signature in signatures.items()}

    def lineage(self, served: ServedVersion) -> dict[str, Any]:
        """What a client may want beside the signature: class labels, preprocessing, metrics."""
        manifest = served.manifest
        if manifest is None:
            return {}
        return {
            "labels": manifest.labels,
            "preprocessing": manifest.preprocessing,
            "framework": manifest.framework,
            "metrics": {
                k: v for k, v in manifest.metrics.items() if not isinstance(v, list | dict)
            },
            "data_fingerprint": manifest.data.get("fingerprint"),
            "created_at": manifest.created_at,
        }
