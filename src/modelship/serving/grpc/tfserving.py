"""TensorFlow Serving's gRPC API (``tensorflow.serving.PredictionService`` and ``ModelService``).

Each method parses the request into the dataplane's terms, calls it, and encodes the answer;
errors leave as the gRPC status of their canonical code (see :mod:`.errors`).
"""

from __future__ import annotations

from google.protobuf import json_format, text_format

from modelship.errors import InvalidInput, Unimplemented
from modelship.lifecycle.config import parse_model_config
from modelship.serving.config import model_server_config_pb2
from modelship.serving.dataplane import DataPlane, ModelSpec
from modelship.serving.grpc.errors import Context, grpc_errors
from modelship.serving.grpc.examples import examples_to_arrays
from modelship.serving.grpc.generated import (
    tfs_model_pb2,
    tfs_model_service_pb2,
    tfs_prediction_service_pb2,
)
from modelship.serving.grpc.metering import metered
from modelship.serving.grpc.tf_tensors import from_tensor_proto, to_tensor_proto
from modelship.signature import CLASSIFY_METHOD, REGRESS_METHOD

__all__ = ["ModelServicer", "PredictionServicer", "model_spec"]

pb = tfs_prediction_service_pb2
_SIGNATURE_DEF_TYPE = "type.googleapis.com/tensorflow.serving.SignatureDefMap"


def model_spec(spec: tfs_model_pb2.ModelSpec) -> ModelSpec:
    """The dataplane's :class:`ModelSpec` for a request's ``model_spec``."""
    if not spec.name:
        raise InvalidInput("model_spec.name is required: name the model to call")
    choice = spec.WhichOneof("version_choice")
    return ModelSpec(
        name=spec.name,
        version=spec.version.value if choice == "version" else None,
        label=spec.version_label if choice == "version_label" else None,
        signature_name=spec.signature_name,
    )


def _answer_spec(name: str, version: int, signature_name: str) -> tfs_model_pb2.ModelSpec:
    answer = tfs_model_pb2.ModelSpec(name=name, signature_name=signature_name)
    answer.version.value = version
    return answer


class PredictionServicer:
    """``tensorflow.serving.PredictionService`` over a :class:`DataPlane`."""

    def __init__(self, dataplane: DataPlane) -> None:
        self.dataplane = dataplane

    @grpc_errors
    @metered(lambda r: r.model_spec.name, lambda r: str(r.model_spec.version.value))
    async def Predict(self, request: pb.PredictRequest, context: Context) -> pb.PredictResponse:
        spec = model_spec(request.model_spec)
        served = self.dataplane.resolve(spec)
        signature_name, _ = self.dataplane.signature(served, spec.signature_name)
        inputs = {name: from_tensor_proto(name, t) for name, t in request.inputs.items()}
        outputs = await self.dataplane.predict(
            served, signature_name, inputs, output_filter=list(request.output_filter)
        )
        return pb.PredictResponse(
            model_spec=_answer_spec(spec.name, served.version, signature_name),
            outputs={name: to_tensor_proto(value) for name, value in outputs.items()},
        )

    @grpc_errors
    async def GetModelMetadata(
        self, request: pb.GetModelMetadataRequest, context: Context
    ) -> pb.GetModelMetadataResponse:
        spec = model_spec(request.model_spec)
        fields = list(request.metadata_field)
        if not fields:
            raise InvalidInput(
                'GetModelMetadataRequest must specify at least one metadata_field: "signature_def"'
            )
        for field in fields:
            if field != "signature_def":
                raise InvalidInput(f'Metadata field {field} is not supported; use "signature_def"')
        served = self.dataplane.resolve(spec)
        signatures = json_format.ParseDict(
            {"signature_def": self.dataplane.metadata(served)},
            pb.SignatureDefMap(),
            ignore_unknown_fields=True,
        )
        response = pb.GetModelMetadataResponse(
            model_spec=_answer_spec(spec.name, served.version, "")
        )
        packed = response.metadata["signature_def"]
        packed.type_url = _SIGNATURE_DEF_TYPE
        packed.value = signatures.SerializeToString()
        return response

    @grpc_errors
    async def Classify(
        self, request: pb.ClassificationRequest, context: Context
    ) -> pb.ClassificationResponse:
        spec = model_spec(request.model_spec)
        result, signature_name, version = await self._classify(spec, request.input)
        return pb.ClassificationResponse(
            model_spec=_answer_spec(spec.name, version, signature_name), result=result
        )

    @grpc_errors
    async def Regress(
        self, request: pb.RegressionRequest, context: Context
    ) -> pb.RegressionResponse:
        spec = model_spec(request.model_spec)
        result, signature_name, version = await self._regress(spec, request.input)
        return pb.RegressionResponse(
            model_spec=_answer_spec(spec.name, version, signature_name), result=result
        )

    @grpc_errors
    async def MultiInference(
        self, request: pb.MultiInferenceRequest, context: Context
    ) -> pb.MultiInferenceResponse:
        if not request.tasks:
            raise InvalidInput("MultiInferenceRequest needs at least one task")
        names = {task.model_spec.name for task in request.tasks}
        if len(names) > 1:
            raise InvalidInput("every task of a MultiInferenceRequest must name the same model")
        response = pb.MultiInferenceResponse()
        for task in request.tasks:
            spec = model_spec(task.model_spec)
            answer = response.results.add()
            if task.method_name == CLASSIFY_METHOD:
                classes, signature_name, version = await self._classify(spec, request.input)
                answer.classification_result.CopyFrom(classes)
            elif task.method_name == REGRESS_METHOD:
                values, signature_name, version = await self._regress(spec, request.input)
                answer.regression_result.CopyFrom(values)
            else:
                raise Unimplemented(
                    f"method {task.method_name!r} is not supported in MultiInference; use "
                    f"{CLASSIFY_METHOD} or {REGRESS_METHOD}"
                )
            answer.model_spec.CopyFrom(_answer_spec(spec.name, version, signature_name))
        return response

    async def _classify(
        self, spec: ModelSpec, request_input: pb.Input
    ) -> tuple[pb.ClassificationResult, str, int]:
        served = self.dataplane.resolve(spec)
        signature_name, signature = self.dataplane.signature(served, spec.signature_name)
        inputs = examples_to_arrays(request_input, signature)
        rows = await self.dataplane.classify(served, signature_name, inputs)
        result = pb.ClassificationResult()
        for row in rows:
            result.classifications.add().classes.extend(
                pb.Class(label=label, score=score) for label, score in row
            )
        return result, signature_name, served.version

    async def _regress(
        self, spec: ModelSpec, request_input: pb.Input
    ) -> tuple[pb.RegressionResult, str, int]:
        served = self.dataplane.resolve(spec)
        signature_name, signature = self.dataplane.signature(served, spec.signature_name)
        inputs = examples_to_arrays(request_input, signature)
        values = await self.dataplane.regress(served, signature_name, inputs)
        result = pb.RegressionResult(regressions=[pb.Regression(value=v) for v in values])
        return result, signature_name, served.version


class ModelServicer:
    """``tensorflow.serving.ModelService``: version states and model config reloads."""

    def __init__(self, dataplane: DataPlane) -> None:
        self.dataplane = dataplane

    @grpc_errors
    async def GetModelStatus(
        self, request: tfs_model_service_pb2.GetModelStatusRequest, context: Context
    ) -> tfs_model_service_pb2.GetModelStatusResponse:
        statuses = self.dataplane.status(model_spec(request.model_spec))
        response = tfs_model_service_pb2.GetModelStatusResponse()
        json_format.ParseDict({"model_version_status": statuses}, response)
        return response

    @grpc_errors
    async def HandleReloadConfigRequest(
        self, request: tfs_model_service_pb2.ReloadConfigRequest, context: Context
    ) -> tfs_model_service_pb2.ReloadConfigResponse:
        if not request.HasField("config"):
            raise InvalidInput("ReloadConfigRequest.config is required")
        # The same field numbers as the config file's message, whose parser checks it; fields
        # this service does not name (version policies) travel on as unknown fields.
        config = model_server_config_pb2.ModelServerConfig.FromString(
            request.config.SerializeToString()
        )
        text = text_format.MessageToString(config)
        configs = parse_model_config(text, origin="ReloadConfigRequest")
        # Answers once the new list is served: by this process, and by every other worker.
        await self.dataplane.reload_config(configs, text)
        # A default StatusProto is error_code OK with no message.
        return tfs_model_service_pb2.ReloadConfigResponse(
            status=tfs_model_service_pb2.StatusProto()
        )
