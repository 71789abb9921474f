"""The Open Inference Protocol's gRPC service (``inference.GRPCInferenceService``), as Triton's
and KServe's clients call it; an empty version means the latest available one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from modelship import __version__
from modelship.codecs.classification import classification_count, classify_outputs
from modelship.codecs.limits import RequestLimits
from modelship.codecs.metadata import v2_metadata_response
from modelship.codecs.v2_extensions import config_response, index_response, statistics_response
from modelship.codecs.v2_grpc import decode_input, fill_outputs
from modelship.codecs.versions import parse_version
from modelship.errors import InvalidInput, ModelshipError
from modelship.protos import v2_grpc_service_pb2 as pb
from modelship.serving.dataplane import DataPlane
from modelship.serving.extensions import (
    V2_EXTENSIONS,
    ModelRepository,
    model_config,
    model_statistics,
)
from modelship.serving.grpc.decoding import Undecodable
from modelship.serving.grpc.errors import Context, abort, undecodable, v2_grpc_errors
from modelship.serving.inference import InferenceRequest, InferenceResponse, ModelSpec
from modelship.serving.metrics import API_GRPC
from modelship.signature import Arrays

__all__ = ["InferenceServicer"]

logger = logging.getLogger("modelship.grpc")


def _spec(name: str, version: str) -> ModelSpec:
    if not name:
        raise InvalidInput("the model name is required")
    return ModelSpec(name=name, version=parse_version(version) if version else None)


def _inputs(request: pb.ModelInferRequest, limits: RequestLimits) -> Arrays:
    raw = request.raw_input_contents
    if raw and len(raw) != len(request.inputs):
        raise InvalidInput(
            f"raw_input_contents has {len(raw)} entries for {len(request.inputs)} inputs: "
            "send one per input, in order, or none"
        )
    inputs: Arrays = {}
    for index, tensor in enumerate(request.inputs):
        if tensor.name in inputs:
            raise InvalidInput(f"input {tensor.name!r} is given twice")
        inputs[tensor.name] = decode_input(tensor, raw[index] if raw else None, limits)
    return inputs


def _classifications(request: pb.ModelInferRequest) -> dict[str, int]:
    """The outputs asked as classes (``class_count`` in Triton's client) and how many."""
    counts = {}
    for output in request.outputs:
        if "classification" in output.parameters:
            parameter = output.parameters["classification"]
            value = getattr(parameter, parameter.WhichOneof("parameter_choice") or "int64_param")
            counts[output.name] = classification_count(output.name, value)
    return counts


def _answer(request: pb.ModelInferRequest, response: InferenceResponse) -> pb.ModelInferResponse:
    outputs = response.outputs
    counts = _classifications(request)
    if counts:
        outputs = classify_outputs(outputs, counts, response.labels)
    answer = pb.ModelInferResponse(
        model_name=response.model, model_version=str(response.version), id=request.id
    )
    fill_outputs(answer, outputs, bool(request.raw_input_contents))
    return answer


class InferenceServicer:
    """``inference.GRPCInferenceService`` over a :class:`DataPlane`."""

    def __init__(self, dataplane: DataPlane) -> None:
        self.dataplane = dataplane
        self.repository = ModelRepository(dataplane)

    @v2_grpc_errors
    async def ServerLive(
        self, request: pb.ServerLiveRequest, context: Context
    ) -> pb.ServerLiveResponse:
        return pb.ServerLiveResponse(live=True)

    @v2_grpc_errors
    async def ServerReady(
        self, request: pb.ServerReadyRequest, context: Context
    ) -> pb.ServerReadyResponse:
        return pb.ServerReadyResponse(ready=self.dataplane.ready())

    @v2_grpc_errors
    async def ModelReady(
        self, request: pb.ModelReadyRequest, context: Context
    ) -> pb.ModelReadyResponse:
        return pb.ModelReadyResponse(
            ready=self.dataplane.model_ready(_spec(request.name, request.version))
        )

    @v2_grpc_errors
    async def ServerMetadata(
        self, request: pb.ServerMetadataRequest, context: Context
    ) -> pb.ServerMetadataResponse:
        return pb.ServerMetadataResponse(
            name="modelship", version=__version__, extensions=V2_EXTENSIONS
        )

    @v2_grpc_errors
    async def ModelMetadata(
        self, request: pb.ModelMetadataRequest, context: Context
    ) -> pb.ModelMetadataResponse:
        spec = _spec(request.name, request.version)
        return v2_metadata_response(self.dataplane.model_metadata(spec))

    async def ModelInfer(
        self, request: pb.ModelInferRequest, context: Context
    ) -> pb.ModelInferResponse:
        # The hot method: errors handled here rather than by @v2_grpc_errors, and no helper
        # coroutine (each costs a frame per call).
        try:
            if isinstance(request, Undecodable):
                raise undecodable(request)
            spec, inference = self._inference(request, context)
            response = await self.dataplane.infer(spec, inference, API_GRPC)
            return _answer(request, response)
        except Exception as exc:
            await abort(context, exc, True, "ModelInfer")
        raise AssertionError("unreachable: context.abort raises")  # pragma: no cover

    async def ModelStreamInfer(
        self, requests: AsyncIterator[pb.ModelInferRequest], context: Context
    ) -> AsyncIterator[pb.ModelStreamInferResponse]:
        """Each request of the stream answered in order; a failed one answers its error in
        ``error_message`` and the stream goes on, as Triton's streaming clients expect."""
        async for request in requests:
            try:
                spec, inference = self._inference(request, context)
                answer = _answer(request, await self.dataplane.infer(spec, inference, API_GRPC))
            except ModelshipError as exc:
                yield pb.ModelStreamInferResponse(error_message=exc.v2_message)
            except Exception as exc:  # a bug of ours or a runtime failure: report, go on
                logger.exception("unexpected error in ModelStreamInfer")
                yield pb.ModelStreamInferResponse(error_message=f"{type(exc).__name__}: {exc}")
            else:
                yield pb.ModelStreamInferResponse(infer_response=answer)

    def _inference(
        self, request: pb.ModelInferRequest, context: Context
    ) -> tuple[ModelSpec, InferenceRequest]:
        spec = _spec(request.model_name, request.model_version)
        limits, outputs = self.dataplane.limits, request.outputs
        inference = InferenceRequest(
            lambda signature, _: _inputs(request, limits),
            output_filter=[o.name for o in outputs] if outputs else (),
            timeout=context.time_remaining(),
            typed=True,
        )
        return spec, inference

    @v2_grpc_errors
    async def ModelConfig(
        self, request: pb.ModelConfigRequest, context: Context
    ) -> pb.ModelConfigResponse:
        return config_response(*model_config(self.dataplane, _spec(request.name, request.version)))

    @v2_grpc_errors
    async def ModelStatistics(
        self, request: pb.ModelStatisticsRequest, context: Context
    ) -> pb.ModelStatisticsResponse:
        version = parse_version(request.version) if request.version else None
        return statistics_response(model_statistics(self.dataplane, request.name, version))

    @v2_grpc_errors
    async def RepositoryIndex(
        self, request: pb.RepositoryIndexRequest, context: Context
    ) -> pb.RepositoryIndexResponse:
        return index_response(self.repository.index(request.ready))

    @v2_grpc_errors
    async def RepositoryModelLoad(
        self, request: pb.RepositoryModelLoadRequest, context: Context
    ) -> pb.RepositoryModelLoadResponse:
        unknown = sorted(k for k in request.parameters if k != "config")
        if unknown:
            raise InvalidInput(
                f"unsupported load parameter(s) {', '.join(unknown)}: modelship loads models "
                'from their base_path; give it in "config"'
            )
        config = None
        if "config" in request.parameters:
            parameter = request.parameters["config"]
            if parameter.WhichOneof("parameter_choice") != "string_param":
                raise InvalidInput('the load parameter "config" must be a JSON string')
            config = parameter.string_param
        await self.repository.load(request.model_name, config)
        return pb.RepositoryModelLoadResponse()

    @v2_grpc_errors
    async def RepositoryModelUnload(
        self, request: pb.RepositoryModelUnloadRequest, context: Context
    ) -> pb.RepositoryModelUnloadResponse:
        await self.repository.unload(request.model_name)
        return pb.RepositoryModelUnloadResponse()
