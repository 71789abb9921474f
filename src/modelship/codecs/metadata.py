"""Version status and model metadata as protocol-neutral data, encoded straight to TF Serving's
and the Open Inference Protocol's JSON or protobuf messages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from modelship.codecs import dtypes
from modelship.protos import (
    tf_error_codes_pb2,
    tf_meta_graph_pb2,
    tf_tensor_pb2,
    tfs_model_service_pb2,
    tfs_prediction_service_pb2,
    v2_grpc_service_pb2,
)
from modelship.signature import Signature, TensorSpec

__all__ = [
    "ModelMetadata",
    "VersionStatus",
    "signature_def_json",
    "signature_def_map",
    "status_json",
    "status_response",
    "v2_metadata_json",
    "v2_metadata_response",
]

_State = tfs_model_service_pb2.ModelVersionStatus.State


@dataclass(frozen=True)
class VersionStatus:
    """One version's state as TF Serving reports it: ``AVAILABLE``, its error code and message."""

    version: int
    state: str
    error_code: str = "OK"
    error_message: str = ""


@dataclass(frozen=True)
class ModelMetadata:
    """What the Open Inference Protocol's model metadata tells: name, the versions that serve,
    the runtime ("platform") and the default signature's tensors."""

    name: str
    versions: list[str]
    platform: str
    signature: Signature


def status_json(statuses: Iterable[VersionStatus]) -> dict[str, Any]:
    """TF Serving's REST answer to ``GET /v1/models/<name>``."""
    return {
        "model_version_status": [
            {
                "version": str(s.version),
                "state": s.state,
                "status": {"error_code": s.error_code, "error_message": s.error_message},
            }
            for s in statuses
        ]
    }


def status_response(
    statuses: Iterable[VersionStatus],
) -> tfs_model_service_pb2.GetModelStatusResponse:
    """TF Serving's ``GetModelStatusResponse``."""
    response = tfs_model_service_pb2.GetModelStatusResponse()
    for s in statuses:
        response.model_version_status.add(
            version=s.version,
            state=_State.Value(s.state),
            status=tfs_model_service_pb2.StatusProto(
                error_code=tf_error_codes_pb2.Code.Value(s.error_code),
                error_message=s.error_message,
            ),
        )
    return response


def signature_def_json(signature: Signature) -> dict[str, Any]:
    """A signature as TF Serving's metadata endpoint renders a ``SignatureDef``."""

    def tensor_info(role: str, key: str, spec: TensorSpec) -> dict[str, Any]:
        dims = [{"size": str(d), "name": ""} for d in spec.shape]
        return {
            "dtype": dtypes.tf_dtype_name(spec.dtype),
            "tensor_shape": {"dim": dims, "unknown_rank": spec.unknown_rank},
            "name": _graph_name(signature, role, key),
        }

    return {
        "inputs": {k: tensor_info("inputs", k, v) for k, v in signature.inputs.items()},
        "outputs": {k: tensor_info("outputs", k, v) for k, v in signature.outputs.items()},
        "method_name": signature.method_name,
        "defaults": {},
    }


def signature_def_map(
    signatures: Mapping[str, Signature],
) -> tfs_prediction_service_pb2.SignatureDefMap:
    """The ``SignatureDefMap`` that gRPC's ``GetModelMetadata`` packs into its answer."""
    answer = tfs_prediction_service_pb2.SignatureDefMap()
    for name, signature in signatures.items():
        target = answer.signature_def[name]
        target.method_name = signature.method_name
        for role, tensors in (("inputs", signature.inputs), ("outputs", signature.outputs)):
            for key, spec in tensors.items():
                info: tf_meta_graph_pb2.TensorInfo = getattr(target, role)[key]
                info.name = _graph_name(signature, role, key)
                info.dtype = tf_tensor_pb2.DataType.Value(dtypes.tf_dtype_name(spec.dtype))
                info.tensor_shape.dim.extend(
                    tf_tensor_pb2.TensorShapeProto.Dim(size=d) for d in spec.shape
                )
                info.tensor_shape.unknown_rank = spec.unknown_rank
    return answer


def _graph_name(signature: Signature, role: str, key: str) -> str:
    # A SavedModel's signature knows the graph tensor behind each key ("serving_default_x:0");
    # other runtimes use the key itself, as their graphs name tensors that way.
    names: dict[str, dict[str, str]] = signature.extra.get("tensor_names", {})
    return names.get(role, {}).get(key, key)


def v2_metadata_json(metadata: ModelMetadata) -> dict[str, Any]:
    """The Open Inference Protocol's REST model metadata."""

    def tensor(name: str, spec: TensorSpec) -> dict[str, Any]:
        return {"name": name, "datatype": dtypes.v2_datatype(spec.dtype), "shape": list(spec.shape)}

    return {
        "name": metadata.name,
        "versions": metadata.versions,
        "platform": metadata.platform,
        "inputs": [tensor(k, v) for k, v in metadata.signature.inputs.items()],
        "outputs": [tensor(k, v) for k, v in metadata.signature.outputs.items()],
    }


def v2_metadata_response(metadata: ModelMetadata) -> v2_grpc_service_pb2.ModelMetadataResponse:
    """The Open Inference Protocol's gRPC ``ModelMetadataResponse``."""
    tensor = v2_grpc_service_pb2.ModelMetadataResponse.TensorMetadata

    def tensors(specs: Mapping[str, TensorSpec]) -> list[Any]:
        return [
            tensor(name=k, datatype=dtypes.v2_datatype(v.dtype), shape=list(v.shape))
            for k, v in specs.items()
        ]

    return v2_grpc_service_pb2.ModelMetadataResponse(
        name=metadata.name,
        versions=metadata.versions,
        platform=metadata.platform,
        inputs=tensors(metadata.signature.inputs),
        outputs=tensors(metadata.signature.outputs),
    )
