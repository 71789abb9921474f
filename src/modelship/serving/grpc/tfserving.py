"""TensorFlow Serving's gRPC API (``tensorflow.serving.PredictionService`` and ``ModelService``).
The caller's deadline bounds the inference, as TF Serving turns it into the run's timeout.
"""

from __future__ import annotations

from modelship.codecs.examples import examples_to_arrays
from modelship.codecs.metadata import signature_def_map, status_response
from modelship.codecs.tensor_proto import fill_tensor_proto, from_tensor_proto
from modelship.errors import InvalidInput, Unimplemented
from modelship.lifecycle.config import configs_from_message
from modelship.protos import tfs_model_pb2, tfs_model_service_pb2, tfs_prediction_service_pb2
from modelship.serving.dataplane import DataPlane
from modelship.serving.grpc.decoding import Undecodable
from modelship.serving.grpc.errors import Context, abort, grpc_errors, undecodable
from modelship.serving.inference import InferenceRequest, ModelSpec
from modelship.serving.metrics import API_GRPC
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
    )


def _answer_spec(name: str, version: int, signature_name: str) -> tfs_model_pb2.ModelSpec:
    answer = tfs_model_pb2.ModelSpec(name=name, signature_name=signature_name)
    answer.version.value = version
    return answer


def _examples(request_input: pb.Input, signature_name: str, context: Context) -> InferenceRequest:
    return InferenceRequest(
        lambda signature, _: examples_to_arrays(request_input, signature),
        signature_name=signature_name,
        timeout=context.time_remaining(),
    )


class PredictionServicer:
    """``tensorflow.serving.PredictionService`` over a :class:`DataPlane`."""

    def __init__(self, dataplane: DataPlane) -> None:
        self.dataplane = dataplane

    async def Predict(self, request: pb.PredictRequest, context: Context) -> pb.PredictResponse:
        # The hot method: errors handled here rather than by @grpc_errors (one coroutine less).
        try:
            if isinstance(request, Undecodable):
                raise undecodable(request)
            spec = model_spec(request.model_spec)
            tensors, limits = request.inputs, self.dataplane.limits
            inference = InferenceRequest(
                lambda signature, _: {
                    name: from_tensor_proto(name, t, limits) for name, t in tensors.items()
                },
                signature_name=request.model_spec.signature_name,
                output_filter=request.output_filter,
                timeout=context.time_remaining(),
            )
            response = await self.dataplane.infer(spec, inference, API_GRPC)
            # Filled in place: building sub-messages and passing them in copies each one.
            answer = pb.PredictResponse()
            answer_spec = answer.model_spec
            answer_spec.name = spec.name
            answer_spec.signature_name = response.signature_name
            answer_spec.version.value = response.version
            outputs = answer.outputs
            for name, value in response.outputs.items():
                fill_tensor_proto(outputs[name], value)
            return answer
        except Exception as exc:
            await abort(context, exc, False, "Predict")
        raise AssertionError("unreachable: context.abort raises")  # pragma: no cover

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
        served, signatures = self.dataplane.signatures(spec)
        response = pb.GetModelMetadataResponse(
            model_spec=_answer_spec(spec.name, served.version, "")
        )
        packed = response.metadata["signature_def"]
        packed.type_url = _SIGNATURE_DEF_TYPE
        packed.value = signature_def_map(signatures).SerializeToString()
        return response

    @grpc_errors
    async def Classify(
        self, request: pb.ClassificationRequest, context: Context
    ) -> pb.ClassificationResponse:
        spec = model_spec(request.model_spec)
        examples = _examples(request.input, request.model_spec.signature_name, context)
        result, signature_name, version = await self._classify(spec, examples)
        return pb.ClassificationResponse(
            model_spec=_answer_spec(spec.name, version, signature_name), result=result
        )

    @grpc_errors
    async def Regress(
        self, request: pb.RegressionRequest, context: Context
    ) -> pb.RegressionResponse:
        spec = model_spec(request.model_spec)
        examples = _examples(request.input, request.model_spec.signature_name, context)
        result, signature_name, version = await self._regress(spec, examples)
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
            examples = _examples(request.input, task.model_spec.signature_name, context)
            answer = response.results.add()
            if task.method_name == CLASSIFY_METHOD:
                classes, signature_name, version = await self._classify(spec, examples)
                answer.classification_result.CopyFrom(classes)
            elif task.method_name == REGRESS_METHOD:
                values, signature_name, version = await self._regress(spec, examples)
                answer.regression_result.CopyFrom(values)
            else:
                raise Unimplemented(
                    f"method {task.method_name!r} is not supported in MultiInference; use "
                    f"{CLASSIFY_METHOD} or {REGRESS_METHOD}"
                )
            answer.model_spec.CopyFrom(_answer_spec(spec.name, version, signature_name))
        return response

    async def _classify(
        self, spec: ModelSpec, examples: InferenceRequest
    ) -> tuple[pb.ClassificationResult, str, int]:
        response, rows = await self.dataplane.classify(spec, examples, API_GRPC)
        result = pb.ClassificationResult()
        for row in rows:
            result.classifications.add().classes.extend(
                pb.Class(label=label, score=score) for label, score in row
            )
        return result, response.signature_name, response.version

    async def _regress(
        self, spec: ModelSpec, examples: InferenceRequest
    ) -> tuple[pb.RegressionResult, str, int]:
        response, values = await self.dataplane.regress(spec, examples, API_GRPC)
        result = pb.RegressionResult(regressions=[pb.Regression(value=v) for v in values])
        return result, response.signature_name, response.version


class ModelServicer:
    """``tensorflow.serving.ModelService``: version states and model config reloads."""

    def __init__(self, dataplane: DataPlane) -> None:
        self.dataplane = dataplane

    @grpc_errors
    async def GetModelStatus(
        self, request: tfs_model_service_pb2.GetModelStatusRequest, context: Context
    ) -> tfs_model_service_pb2.GetModelStatusResponse:
        return status_response(self.dataplane.status(model_spec(request.model_spec)))

    @grpc_errors
    async def HandleReloadConfigRequest(
        self, request: tfs_model_service_pb2.ReloadConfigRequest, context: Context
    ) -> tfs_model_service_pb2.ReloadConfigResponse:
        if not request.HasField("config"):
            raise InvalidInput("ReloadConfigRequest.config is required")
        configs = configs_from_message(request.config, origin="ReloadConfigRequest")
        # Answers once the new list is served: by this process, and by every other worker.
        await self.dataplane.reload_config(configs)
        # A default StatusProto is error_code OK with no message.
        return tfs_model_service_pb2.ReloadConfigResponse(
            status=tfs_model_service_pb2.StatusProto()
        )
