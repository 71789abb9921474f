"""The protocol-neutral core of serving: one inference pipeline, status and metadata.

The pipeline holds the addressed version until the answer is computed, so it cannot unload
under the request. Errors are :mod:`modelship.errors` exceptions, mapped by each front end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from modelship.codecs.limits import RequestLimits
from modelship.codecs.metadata import ModelMetadata, VersionStatus
from modelship.errors import (
    InvalidInput,
    ModelNotFound,
    ModelshipError,
    Unimplemented,
    VersionNotFound,
)
from modelship.registry import LOADING, START, Registry, ServedVersion
from modelship.runtimes.out_of_memory import as_out_of_memory
from modelship.runtimes.processing import ProcessingFailed
from modelship.serving.deadline import Deadlines
from modelship.serving.executor import InferenceExecutor, ThreadExecutor
from modelship.serving.inference import (
    InferenceRequest,
    InferenceResponse,
    ModelSpec,
    RequestSource,
)
from modelship.serving.metrics import Metrics
from modelship.serving.plan import SignaturePlan, bind_plan, find_signature
from modelship.serving.preprocess import ImageDecoder
from modelship.serving.results import check_method, results
from modelship.serving.tap import RequestTap
from modelship.serving.topk import add_top_k
from modelship.serving.workers.group import group_state
from modelship.signature import (
    Arrays,
    Signature,
)

if TYPE_CHECKING:
    from modelship.lifecycle import Lifecycle
    from modelship.lifecycle.config import ModelConfig

__all__ = ["DataPlane", "ModelSpec"]

logger = logging.getLogger(__name__)


class DataPlane:
    """Answers every serving question from the registry; one instance per worker process."""

    def __init__(
        self,
        registry: Registry,
        executor: InferenceExecutor,
        metrics: Metrics | None = None,
        images: ImageDecoder | None = None,
        limits: RequestLimits | None = None,
    ) -> None:
        self.registry = registry
        # What one request may declare; the codecs check it before they allocate.
        self.limits = limits if limits is not None else RequestLimits()
        self.executor = executor
        self.metrics = metrics if metrics is not None else Metrics(registry)
        # The executor times each request's wait and compute for the statistics extension.
        executor.statistics = self.metrics.statistics
        self.images = images if images is not None else ImageDecoder()
        self.deadlines = Deadlines()
        # Set by the server: what keeps the registry in step with the repository and config.
        self.lifecycle: Lifecycle | None = None
        # Set by the server: where sampled requests go for drift and request logging.
        self.tap: RequestTap | None = None

    # -- inference ---------------------------------------------------------------------------

    async def infer(
        self, spec: ModelSpec, source: RequestSource, api: str, method: str = "predict"
    ) -> InferenceResponse:
        """Run one inference; ``method`` ``classify``/``regress`` also fills ``results``."""
        started = time.perf_counter()
        # The phases before and after inference, for the statistics extension (in ns).
        input_ns = output_ns = 0
        version, code = str(spec.version or ""), "OK"
        served: ServedVersion | None = None
        request: InferenceRequest | None = None
        try:
            served = self.registry.acquire(spec.name, spec.version, spec.label)
            version = str(served.version)
            request = source if isinstance(source, InferenceRequest) else await source()
            plan = self.plan(served, request.signature_name)
            signature = plan.signature
            tf_contract = method != "predict" and check_method(signature, method)
            if request.output_filter:
                _check_outputs(signature, request.output_filter)
            image = plan.image
            inputs = request.inputs
            if callable(inputs):
                inputs = inputs(signature, image)
            self.limits.check_inputs(inputs)
            timeout = request.timeout
            outputs = None
            if image is None:
                inputs = plan.conform(inputs, request.typed)
                before_work = time.perf_counter()
                run_now, cost = self._run_now, plan.cost
                if run_now is not None and cost is not None and (timeout is None or timeout > 0):
                    # A call cheaper than a thread hand-off runs here, synchronously: no
                    # deadline can pass while it runs, so none is set up.
                    outputs = run_now(plan.runtime, plan.name, inputs, cost, plan.record)
                if outputs is None:
                    work = self.executor.run(served, plan.name, inputs)
            else:
                before_work = time.perf_counter()
                work = self._decode_and_run(served, plan, inputs, request.typed)
            input_ns = int((before_work - started) * 1e9)
            if outputs is None:
                if timeout is None:
                    outputs = await work
                else:
                    source_name = request.timeout_source
                    outputs = await self.deadlines.run(work, timeout, method, source_name)
            after_work = time.perf_counter()
            if self.tap is not None:
                self.tap.offer(
                    spec.name, served.version, served.manifest, plan.name, inputs, outputs
                )
            if request.output_filter:
                outputs = {o: outputs[o] for o in request.output_filter}
            labels = plan.labels
            if request.top_k is not None:
                outputs = add_top_k(outputs, labels, request.top_k)
            response = InferenceResponse(spec.name, served.version, plan.name, outputs, labels)
            if method != "predict":
                response.results = results(response, method, tf_contract)
            output_ns = int((time.perf_counter() - after_work) * 1e9)
            return response
        except ModelshipError as exc:
            code = exc.code
            if isinstance(exc, ProcessingFailed) and served is not None:
                # The version still serves; its status says what its own code last raised.
                served.error_message = f"last request failed: {exc.message}"
            raise
        except asyncio.CancelledError:
            # gRPC cancels a call at the caller's deadline, often just before the sweep does.
            timeout = request.timeout if request is not None else None
            late = timeout is not None and time.perf_counter() - started >= timeout
            code = "DEADLINE_EXCEEDED" if late else "CANCELLED"
            raise
        except Exception as exc:
            out_of_memory = as_out_of_memory(exc)
            if out_of_memory is None:
                code = "INTERNAL"
                raise
            code = out_of_memory.code
            self.metrics.out_of_memory(spec.name, version)
            logger.warning("%s %s: %s", spec.name, version, out_of_memory.message)
            raise out_of_memory from exc
        finally:
            if served is not None:
                served.release()
            seconds = time.perf_counter() - started
            self.metrics.request(spec.name, version, api, code, seconds, input_ns, output_ns)

    def plan(self, served: ServedVersion, signature_name: str) -> SignaturePlan:
        """What serving ``signature_name`` of ``served`` needs, bound once per version (see
        :mod:`modelship.serving.plan`)."""
        plans = served.plans
        plan: SignaturePlan | None = plans.get(signature_name)
        if plan is not None and plan.runtime is served.runtime:
            return plan
        costs = self.executor if isinstance(self.executor, ThreadExecutor) else None
        return bind_plan(served, signature_name, costs, self.executor.statistics)

    @property
    def executor(self) -> InferenceExecutor:
        """Where inference runs (the thread pool, or the batcher)."""
        return self._executor

    @executor.setter
    def executor(self, executor: InferenceExecutor) -> None:
        self._executor = executor
        # Only the thread executor runs a cheap call on the event loop, without an await.
        self._run_now = executor.run_now if isinstance(executor, ThreadExecutor) else None

    async def classify(
        self, spec: ModelSpec, source: RequestSource, api: str
    ) -> tuple[InferenceResponse, list[list[tuple[str, float]]]]:
        """Per example, ``(label, score)`` for every class, in the model's class order; needs one
        ``[batch, classes]`` output and a manifest that lists the class labels."""
        response = await self.infer(spec, source, api, "classify")
        return response, response.results

    async def regress(
        self, spec: ModelSpec, source: RequestSource, api: str
    ) -> tuple[InferenceResponse, list[float]]:
        """One value per example, from a signature whose single output is ``[batch]`` or
        ``[batch, 1]``."""
        response = await self.infer(spec, source, api, "regress")
        return response, response.results

    async def _decode_and_run(
        self, served: ServedVersion, plan: SignaturePlan, inputs: Arrays, typed: bool
    ) -> Arrays:
        assert plan.image is not None
        decoded = await self.images.decode_inputs(inputs, plan.signature, plan.image)
        return await self.executor.run(served, plan.name, plan.conform(decoded, typed))

    # -- versions and their metadata ---------------------------------------------------------

    def resolve(self, spec: ModelSpec) -> ServedVersion:
        """The version ``spec`` addresses (for metadata; inference holds it instead)."""
        return self.registry.resolve(spec.name, spec.version, spec.label)

    def signature(self, served: ServedVersion, signature_name: str) -> tuple[str, Signature]:
        """The signature a request names (``serving_default`` when it names none)."""
        return find_signature(served.require_runtime(), signature_name)

    def signatures(self, spec: ModelSpec) -> tuple[ServedVersion, dict[str, Signature]]:
        """The addressed version and all its signatures (TF Serving's ``signature_def``)."""
        served = self.resolve(spec)
        return served, dict(served.require_runtime().signatures)

    def model_metadata(self, spec: ModelSpec) -> ModelMetadata:
        """The Open Inference Protocol's model metadata of the addressed version."""
        served = self.resolve(spec)
        _, signature = self.signature(served, "")
        available = [
            str(s.version) for s in self.status(ModelSpec(spec.name)) if s.state == "AVAILABLE"
        ]
        return ModelMetadata(spec.name, available, served.require_runtime().name, signature)

    def lineage(self, served: ServedVersion) -> dict[str, Any]:
        """What a client may want beside the signature: class labels, preprocessing, metrics,
        the device the version computes on, and the batch size of each signature exported
        with a fixed one."""
        runtime = served.runtime
        signatures = runtime.signatures if runtime is not None else {}
        fixed = {name: s.fixed_batch for name, s in signatures.items() if s.fixed_batch}
        extra: dict[str, Any] = {"device": getattr(runtime, "device", "cpu")}
        if fixed:
            extra["fixed_batch_size"] = fixed
        manifest = served.manifest
        if manifest is None:
            return extra
        return extra | {
            "labels": manifest.labels,
            "preprocessing": manifest.preprocessing,
            "framework": manifest.framework,
            "metrics": {
                k: v for k, v in manifest.metrics.items() if not isinstance(v, list | dict)
            },
            "data_fingerprint": manifest.data.get("fingerprint"),
            "created_at": manifest.created_at,
        }

    def status(self, spec: ModelSpec) -> list[VersionStatus]:
        """Every version's state, or the addressed one's, newest first; with several workers a
        version is ``AVAILABLE`` once every worker serves it."""
        entry = self.registry.model(spec.name)
        own = {v: served.state for v, served in list(entry.versions.items())}
        lifecycle = self.lifecycle
        peers = [p.get(spec.name, {}) for p in lifecycle.peer_states()] if lifecycle else []
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
            if state is None:  # no worker has it (any more)
                continue
            if served is None:
                answer.append(VersionStatus(version, state))
            else:
                answer.append(
                    VersionStatus(version, state, served.error_code, served.error_message)
                )
        return answer

    def ready(self) -> bool:
        """True when some model serves and every other one is done trying: it has an AVAILABLE
        version, or its versions failed to load (its status and model readiness say so). One
        broken model must not take the healthy ones out of a load balancer."""
        models = self.registry.models()
        serving = [m.latest_available() is not None for m in models]
        return any(serving) and all(
            ok or not any(v.state in (START, LOADING) for v in m.versions.values())
            for ok, m in zip(serving, models, strict=True)
        )

    def model_ready(self, spec: ModelSpec) -> bool:
        """Whether the version ``spec`` addresses (the latest if none) can serve now."""
        try:
            return self.resolve(spec).available
        except ModelNotFound:
            return False

    async def reload_config(self, configs: list[ModelConfig]) -> None:
        """Replace the served model list, as TF Serving's HandleReloadConfigRequest; returns
        once every worker process has done its loading pass."""
        lifecycle = self.lifecycle
        if lifecycle is None:
            raise Unimplemented("this server cannot reload its model config")
        # Loading runs models' warm-up and may take seconds: keep it off the event loop.
        await asyncio.to_thread(lifecycle.reload, configs)


def _check_outputs(signature: Signature, wanted: Sequence[str]) -> None:
    unknown = [o for o in wanted if o not in signature.outputs]
    if unknown:
        raise InvalidInput(
            f"unknown output(s) {', '.join(unknown)}; the signature returns "
            f"{', '.join(signature.outputs)}"
        )
