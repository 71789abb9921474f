"""The Open Inference Protocol's gRPC service (``inference.GRPCInferenceService``).

Health, metadata and ModelInfer over the dataplane, as Triton's and KServe's clients call
them. Versions travel as strings; an empty version means the latest available one.
"""

from __future__ import annotations

from modelship import __version__
from modelship.errors import InvalidInput, VersionNotFound
from modelship.runtimes.base import Arrays
from modelship.serving.dataplane import DataPlane, ModelSpec
from modelship.serving.grpc.errors import Context, grpc_errors
from modelship.serving.grpc.generated import v2_grpc_service_pb2 as pb
from modelship.serving.grpc.metering import metered
from modelship.serving.grpc.v2_tensors import decode_input, encode_outputs
from modelship.signature import TensorSpec, v2_datatype

__all__ = ["InferenceServicer"]


def _spec(name: str, version: str) -> ModelSpec:
    if not name:
        raise InvalidInput("the model name is required")
    if version and not (version.isdigit() and int(version) > 0):
        raise VersionNotFound(f"Malformed version {version!r}: versions are positive integers")
    return ModelSpec(name=name, version=int(version) if version else None)


def _tensor_metadata(name: str, spec: TensorSpec) -> pb.ModelMetadataResponse.TensorMetadata:
    return pb.ModelMetadataResponse.TensorMetadata(
        name=name, datatype=v2_datatype(spec.dtype), shape=list(spec.shape)
    )


class InferenceServicer:
    """``inference.GRPCInferenceService`` over a :class:`DataPlane`."""

    def __init__(self, dataplane: DataPlane) -> None:
        self.dataplane = dataplane

    @grpc_errors
    async def ServerLive(
        self, request: pb.ServerLiveRequest, context: Context
    ) -> pb.ServerLiveResponse:
        return pb.ServerLiveResponse(live=True)

    @grpc_errors
    async def ServerReady(
        self, request: pb.ServerReadyRequest, context: Context
    ) -> pb.ServerReadyResponse:
        return pb.ServerReadyResponse(ready=self.dataplane.ready())

    @grpc_errors
    async def ModelReady(
        self, request: pb.ModelReadyRequest, context: Context
    ) -> pb.ModelReadyResponse:
        return pb.ModelReadyResponse(
            ready=self.dataplane.model_ready(_spec(request.name, request.version))
        )

    @grpc_errors
    async def ServerMetadata(
        self, request: pb.ServerMetadataRequest, context: Context
    ) -> pb.ServerMetadataResponse:
        return pb.ServerMetadataResponse(name="modelship", version=__version__)

    @grpc_errors
    async def ModelMetadata(
        self, request: pb.ModelMetadataRequest, context: Context
    ) -> pb.ModelMetadataResponse:
        spec = _spec(request.name, request.version)
        served = self.dataplane.resolve(spec)
        _, signature = self.dataplane.signature(served, "")
        available = [
            s["version"]
            for s in self.dataplane.status(ModelSpec(spec.name))
            if s["state"] == "AVAILABLE"
        ]
        return pb.ModelMetadataResponse(
            name=spec.name,
            versions=available,
            platform=served.require_runtime().name,
            inputs=[_tensor_metadata(k, v) for k, v in signature.inputs.items()],
            outputs=[_tensor_metadata(k, v) for k, v in signature.outputs.items()],
        )

    @grpc_errors
    @metered(lambda r: r.model_name, lambda r: r.model_version)
    async def ModelInfer(
        self, request: pb.ModelInferRequest, context: Context
    ) -> pb.ModelInferResponse:
        spec = _spec(request.model_name, request.model_version)
        served = self.dataplane.resolve(spec)
        raw = list(request.raw_input_contents)
        if raw and len(raw) != len(request.inputs):
            raise InvalidInput(
                f"raw_input_contents has {len(raw)} entries for {len(request.inputs)} inputs: "
                "send one per input, in order, or none"
            )
        inputs: Arrays = {}
        for index, tensor in enumerate(request.inputs):
            if tensor.name in inputs:
                raise InvalidInput(f"input {tensor.name!r} is given twice")
            inputs[tensor.name] = decode_input(tensor, raw[index] if raw else None)
        outputs = await self.dataplane.predict(
            served, "", inputs, output_filter=[o.name for o in request.outputs]
        )
        tensors, raw_outputs = encode_outputs(outputs, raw=bool(raw))
        return pb.ModelInferResponse(
            model_name=spec.name,
            model_version=str(served.version),
            id=request.id,
            outputs=tensors,
            raw_output_contents=raw_outputs,
        )
