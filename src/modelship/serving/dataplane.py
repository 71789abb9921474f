"""The protocol-neutral core of serving: status, metadata and inference on named arrays.

The REST and gRPC adapters parse their wire format into arrays, call the dataplane, and encode
what it returns; errors are :mod:`modelship.errors` exceptions, mapped to codes by each adapter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelship.errors import (
    FailedPrecondition,
    InvalidInput,
    ModelNotFound,
    SignatureNotFound,
    Unimplemented,
    VersionNotFound,
)
from modelship.lifecycle.group import States, group_state
from modelship.registry import Registry, ServedVersion
from modelship.runtimes.base import Arrays
from modelship.serving.executor import InferenceExecutor
from modelship.serving.inputs import conform_inputs
from modelship.serving.metrics import Metrics
from modelship.serving.preprocess import ImageDecoder, image_spec
from modelship.signature import DEFAULT_SIGNATURE, Signature

if TYPE_CHECKING:
    from modelship.lifecycle import Lifecycle
    from modelship.lifecycle.config import ModelConfig

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

    def __init__(
        self, registry: Registry, executor: InferenceExecutor, metrics: Metrics | None = None
    ) -> None:
        self.registry = registry
        self.executor = executor
        self.metrics = metrics if metrics is not None else Metrics(registry)
        # Set by the server: what keeps the registry in step with the repository and config.
        self.lifecycle: Lifecycle | None = None
        # Decodes encoded images sent to image models; the server sets its pixel limit.
        self.images = ImageDecoder()

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

    async def predict(
        self,
        served: ServedVersion,
        signature_name: str,
        inputs: Arrays,
        output_filter: Sequence[str] = (),
    ) -> Arrays:
        """Conform ``inputs`` to the signature, run them, and return the outputs.

        Args:
            output_filter: names of the outputs to return, in that order; empty returns all.
        """
        name, signature = self.signature(served, signature_name)
        unknown = [o for o in output_filter if o not in signature.outputs]
        if unknown:
            raise InvalidInput(
                f"unknown output(s) {', '.join(unknown)}; the signature returns "
                f"{', '.join(signature.outputs)}"
            )
        image = image_spec(served)
        if image is not None:
            inputs = await self.images.decode_inputs(inputs, signature, image)
        conformed = conform_inputs(signature, inputs)
        outputs = await self.executor.run(served, name, conformed)
        return {o: outputs[o] for o in output_filter} if output_filter else outputs

    async def classify(
        self, served: ServedVersion, signature_name: str, inputs: Arrays
    ) -> list[list[tuple[str, float]]]:
        """Per example, ``(label, score)`` for every class, in the model's class order.

        Works for a signature with one output of class scores (``[batch, classes]``) and a
        version whose manifest lists the class labels.

        Raises:
            FailedPrecondition: no labels, several outputs, or scores that do not match them.
        """
        _, signature = self.signature(served, signature_name)
        output = _single_output(signature, "classify")
        labels = served.manifest.labels if served.manifest is not None else []
        if not labels:
            raise FailedPrecondition(
                f"classify needs class labels, and {served.model} version {served.version} "
                "lists none in its modelship.json; call Predict for the raw scores"
            )
        scores = (await self.predict(served, signature_name, inputs))[output]
        if scores.ndim != 2 or scores.shape[1] != len(labels):
            raise FailedPrecondition(
                f"classify needs scores shaped [batch, {len(labels)}] (one per label); "
                f"output {output!r} is shaped {list(scores.shape)}"
            )
        return [
            [(label, float(score)) for label, score in zip(labels, row, strict=True)]
            for row in scores.tolist()
        ]

    async def regress(
        self, served: ServedVersion, signature_name: str, inputs: Arrays
    ) -> list[float]:
        """One value per example, from a signature whose single output is ``[batch]`` or
        ``[batch, 1]``.

        Raises:
            FailedPrecondition: several outputs, or more than one value per example.
        """
        _, signature = self.signature(served, signature_name)
        output = _single_output(signature, "regress")
        values = (await self.predict(served, signature_name, inputs))[output]
        if values.ndim == 0 or values[0].size != 1:
            raise FailedPrecondition(
                f"regress needs one value per example; output {output!r} is shaped "
                f"{list(values.shape)}: call Predict instead"
            )
        return [float(v) for v in values.reshape(-1).tolist()]

    async def reload_config(self, configs: list[ModelConfig], text: str) -> None:
        """Replace the served model list, as TF Serving's HandleReloadConfigRequest: models
        left out are unloaded, new ones loaded; returns once the loading pass is done (in every
        worker process of the server).

        A ``--model_config_file`` that is polled takes over again when that file changes.

        Args:
            configs: the parsed model list.
            text: the same list as a ``ModelServerConfig`` text proto.

        Raises:
            Unimplemented: this dataplane has no lifecycle to apply a config with.
        """
        lifecycle = self.lifecycle
        if lifecycle is None:
            raise Unimplemented("this server cannot reload its model config")
        # Loading runs models' warm-up and may take seconds: keep it off the event loop.
        await asyncio.to_thread(lifecycle.reload, configs, text)

    def ready(self) -> bool:
        """True when every configured model has an AVAILABLE version (and there is one)."""
        models = self.registry.models()
        return bool(models) and all(m.latest_available() is not None for m in models)

    def model_ready(self, spec: ModelSpec) -> bool:
        """Whether the version ``spec`` addresses (the latest if none) can serve now."""
        try:
            return self.resolve(spec).available
        except ModelNotFound:
            return False

    def status(self, spec: ModelSpec) -> list[dict[str, Any]]:
        """TF Serving's ``model_version_status`` list: every version, or the one addressed.

        With several worker processes, states are the server's as a whole (see
        :func:`modelship.lifecycle.group.group_state`): a version is ``AVAILABLE`` once every
        worker serves it.
        """
        entry = self.registry.model(spec.name)
        own = {v: served.state for v, served in list(entry.versions.items())}
        peers = [p.get(spec.name, {}) for p in self._peer_states()]
        if spec.version is None and spec.label is None:
            versions = sorted(set(own).union(*peers), reverse=True)
        else:
            version = spec.version
            if spec.label is not None:
                version = self.registry.resolve_label(spec.name, spec.label)
            if version is None or version not in own:
                raise VersionNotFound(f"Could not find version {version} of model {spec.name}")
            versions = [version]
        answer = []
        for version in versions:
            served = entry.versions.get(version)
            state = group_state(version, own, peers) if peers else own[version]
            answer.append(
                {
                    "version": str(version),
                    "state": state,
                    "status": {
                        "error_code": served.error_code if served is not None else "OK",
                        "error_message": served.error_message if served is not None else "",
                    },
                }
            )
        return answer

    def _peer_states(self) -> list[States]:
        lifecycle = self.lifecycle
        return lifecycle.peer_states() if lifecycle is not None else []

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


def _single_output(signature: Signature, method: str) -> str:
    if len(signature.outputs) != 1:
        raise FailedPrecondition(
            f"{method} needs a signature with exactly one output; this one has "
            f"{', '.join(signature.outputs)}: call Predict instead"
        )
    return next(iter(signature.outputs))
