"""What serving one signature of one loaded version needs, bound once per version.

A request used to look up its signature, read the version's image preprocessing from the
manifest, and find its runtime's cost record and statistics record, every time. A
:class:`SignaturePlan` holds all of these, built on a signature's first request and kept on
the :class:`~modelship.registry.ServedVersion` (``served.plans``), so a request does one
dictionary lookup. A plan names the runtime it was bound to: a version loaded again gets
new plans.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from modelship.codecs.conform import ConformPlan
from modelship.data.images import ImagePreprocessing
from modelship.errors import SignatureNotFound
from modelship.registry import ServedVersion
from modelship.runtimes.base import Runtime
from modelship.serving.executor import RunCost
from modelship.serving.preprocess import image_spec
from modelship.serving.statistics import InferenceStatistics, VersionStatistics
from modelship.signature import DEFAULT_SIGNATURE, Signature

__all__ = ["SignaturePlan", "bind_plan", "find_signature"]


@dataclass(slots=True, eq=False)
class SignaturePlan:
    """One signature of one loaded version, ready to serve.

    Attributes:
        runtime: the runtime it was bound to (a plan is valid while the version holds it).
        name: the signature's name (the one a request named, or the default it resolved to).
        conform: the signature's input checks (:class:`~modelship.codecs.conform.ConformPlan`).
        image: the version's image preprocessing; None for a model of plain tensors.
        labels: the manifest's class labels (empty without them).
        cost: what the runtime's calls cost, for the executor's run-inline decision; None
            when the executor has no such decision.
        record: the version's inference statistics, or None when none are kept.
    """

    runtime: Runtime
    name: str
    signature: Signature
    conform: ConformPlan
    image: ImagePreprocessing | None
    labels: list[str]
    cost: RunCost | None
    record: VersionStatistics | None


class CostSource(Protocol):
    """What keeps each runtime's :class:`RunCost` (the thread executor)."""

    def cost(self, runtime: Runtime) -> RunCost:
        """The cost record of ``runtime``."""
        ...


def find_signature(runtime: Runtime, requested: str) -> tuple[str, Signature]:
    """The signature a request names (``serving_default``, or a version's only signature,
    when it names none); SignatureNotFound otherwise."""
    signatures = runtime.signatures
    name = requested or DEFAULT_SIGNATURE
    if name not in signatures and not requested and len(signatures) == 1:
        name = next(iter(signatures))
    if name not in signatures:
        raise SignatureNotFound(
            f'Serving signature name: "{name}" not found in signature def; '
            f"this version has {', '.join(sorted(signatures))}"
        )
    return name, signatures[name]


def bind_plan(
    served: ServedVersion,
    requested: str,
    costs: CostSource | None,
    statistics: InferenceStatistics | None,
) -> SignaturePlan:
    """The plan for the signature ``requested`` names (see :func:`find_signature`), kept on
    ``served``; VersionNotFound when the version has been unloaded meanwhile."""
    plan: SignaturePlan | None = served.plans.get(requested)
    runtime = served.runtime
    if plan is not None and plan.runtime is runtime:
        return plan
    runtime = served.require_runtime()
    name, signature = find_signature(runtime, requested)
    manifest = served.manifest
    plan = SignaturePlan(
        runtime=runtime,
        name=name,
        signature=signature,
        conform=ConformPlan(signature),
        image=image_spec(manifest),
        labels=manifest.labels if manifest is not None else [],
        cost=costs.cost(runtime) if costs is not None else None,
        record=statistics.record(served.model, served.version) if statistics is not None else None,
    )
    served.plans[requested] = plan
    return plan
