"""Version status and model metadata, as TF Serving's and the Open Inference Protocol's JSON
and protobuf messages, for a signature with several inputs."""

from __future__ import annotations

import pytest
from google.protobuf import json_format

from modelship.codecs.metadata import (
    ModelMetadata,
    VersionStatus,
    signature_def_json,
    signature_def_map,
    status_json,
    status_response,
    v2_metadata_json,
    v2_metadata_response,
)
from modelship.protos import tf_error_codes_pb2, tf_tensor_pb2, tfs_model_service_pb2
from modelship.signature import CLASSIFY_METHOD, Signature, TensorSpec

PAIR = Signature(
    inputs={
        "a": TensorSpec("float32", (-1, 2)),
        "b": TensorSpec("int64", (-1,)),
        "text": TensorSpec("bytes", (-1, 1)),
    },
    outputs={"sum": TensorSpec("float64", (-1, 2)), "flag": TensorSpec("bool", ())},
)
# A SavedModel's signature names the graph tensors behind its keys.
SAVED = Signature(
    inputs={"x": TensorSpec("float32", (-1, 3)), "y": TensorSpec("uint8", (2,))},
    outputs={"scores": TensorSpec("float32", (-1, 3))},
    method_name=CLASSIFY_METHOD,
    name="classify",
    extra={"tensor_names": {"inputs": {"x": "serving_x:0"}, "outputs": {"scores": "Id:0"}}},
)
STATUSES = [
    VersionStatus(3, "AVAILABLE"),
    VersionStatus(2, "END", "INVALID_ARGUMENT", "bad model file"),
    VersionStatus(1, "LOADING"),
]


def test_status_json_lists_each_version_with_its_error() -> None:
    assert status_json(STATUSES) == {
        "model_version_status": [
            {
                "version": "3",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            },
            {
                "version": "2",
                "state": "END",
                "status": {"error_code": "INVALID_ARGUMENT", "error_message": "bad model file"},
            },
            {
                "version": "1",
                "state": "LOADING",
                "status": {"error_code": "OK", "error_message": ""},
            },
        ]
    }


def test_status_json_of_no_version_is_an_empty_list() -> None:
    assert status_json([]) == {"model_version_status": []}


def test_status_response_carries_the_same_as_enums() -> None:
    response = status_response(STATUSES)
    State = tfs_model_service_pb2.ModelVersionStatus.State
    assert [(s.version, s.state) for s in response.model_version_status] == [
        (3, State.AVAILABLE),
        (2, State.END),
        (1, State.LOADING),
    ]
    failed = response.model_version_status[1].status
    assert failed.error_code == tf_error_codes_pb2.Code.INVALID_ARGUMENT
    assert failed.error_message == "bad model file"
    # The REST answer is the protobuf one in JSON, as TF Serving's is.
    as_json = json_format.MessageToDict(
        response, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    assert as_json == status_json(STATUSES)


def test_status_response_refuses_a_state_name_tf_serving_lacks() -> None:
    with pytest.raises(ValueError, match="RETIRED"):
        status_response([VersionStatus(1, "RETIRED")])


def test_signature_def_json_renders_every_input_and_output() -> None:
    assert signature_def_json(PAIR) == {
        "inputs": {
            "a": {
                "dtype": "DT_FLOAT",
                "tensor_shape": {
                    "dim": [{"size": "-1", "name": ""}, {"size": "2", "name": ""}],
                    "unknown_rank": False,
                },
                "name": "a",
            },
            "b": {
                "dtype": "DT_INT64",
                "tensor_shape": {"dim": [{"size": "-1", "name": ""}], "unknown_rank": False},
                "name": "b",
            },
            "text": {
                "dtype": "DT_STRING",
                "tensor_shape": {
                    "dim": [{"size": "-1", "name": ""}, {"size": "1", "name": ""}],
                    "unknown_rank": False,
                },
                "name": "text",
            },
        },
        "outputs": {
            "sum": {
                "dtype": "DT_DOUBLE",
                "tensor_shape": {
                    "dim": [{"size": "-1", "name": ""}, {"size": "2", "name": ""}],
                    "unknown_rank": False,
                },
                "name": "sum",
            },
            "flag": {
                "dtype": "DT_BOOL",
                "tensor_shape": {"dim": [], "unknown_rank": False},
                "name": "flag",
            },
        },
        "method_name": "tensorflow/serving/predict",
        "defaults": {},
    }


def test_signature_def_json_uses_the_graph_tensor_names_a_saved_model_knows() -> None:
    rendered = signature_def_json(SAVED)
    assert rendered["inputs"]["x"]["name"] == "serving_x:0"
    assert rendered["inputs"]["y"]["name"] == "y"  # not listed: the key itself
    assert rendered["inputs"]["y"]["dtype"] == "DT_UINT8"
    assert rendered["outputs"]["scores"]["name"] == "Id:0"
    assert rendered["method_name"] == CLASSIFY_METHOD


def test_a_dtype_no_format_carries_is_dt_invalid() -> None:
    odd = Signature(inputs={"c": TensorSpec("complex64", (1,))}, outputs={})
    assert signature_def_json(odd)["inputs"]["c"]["dtype"] == "DT_INVALID"


def test_signature_def_map_holds_every_signature_as_tensor_infos() -> None:
    answer = signature_def_map({"serving_default": PAIR, "classify": SAVED})
    assert set(answer.signature_def) == {"serving_default", "classify"}
    pair = answer.signature_def["serving_default"]
    assert pair.method_name == "tensorflow/serving/predict"
    assert set(pair.inputs) == {"a", "b", "text"}
    assert set(pair.outputs) == {"sum", "flag"}
    dtypes_and_shapes = {
        key: (info.name, info.dtype, [d.size for d in info.tensor_shape.dim])
        for key, info in [*pair.inputs.items(), *pair.outputs.items()]
    }
    DataType = tf_tensor_pb2.DataType
    assert dtypes_and_shapes == {
        "a": ("a", DataType.DT_FLOAT, [-1, 2]),
        "b": ("b", DataType.DT_INT64, [-1]),
        "text": ("text", DataType.DT_STRING, [-1, 1]),
        "sum": ("sum", DataType.DT_DOUBLE, [-1, 2]),
        "flag": ("flag", DataType.DT_BOOL, []),
    }
    saved = answer.signature_def["classify"]
    assert saved.method_name == CLASSIFY_METHOD
    assert saved.inputs["x"].name == "serving_x:0"
    assert saved.outputs["scores"].name == "Id:0"


def test_signature_def_map_and_json_agree() -> None:
    as_proto = json_format.MessageToDict(signature_def_map({"s": PAIR}))["signatureDef"]["s"]
    as_json = signature_def_json(PAIR)
    for role in ("inputs", "outputs"):
        for key, info in as_json[role].items():
            assert as_proto[role][key]["dtype"] == info["dtype"]
            assert as_proto[role][key]["name"] == info["name"]
            dims = as_proto[role][key]["tensorShape"].get("dim", [])
            assert [d["size"] for d in dims] == [d["size"] for d in info["tensor_shape"]["dim"]]


def test_v2_metadata_json_lists_tensors_in_signature_order() -> None:
    metadata = ModelMetadata("pair", ["3", "2"], "onnx", PAIR)
    assert v2_metadata_json(metadata) == {
        "name": "pair",
        "versions": ["3", "2"],
        "platform": "onnx",
        "inputs": [
            {"name": "a", "datatype": "FP32", "shape": [-1, 2]},
            {"name": "b", "datatype": "INT64", "shape": [-1]},
            {"name": "text", "datatype": "BYTES", "shape": [-1, 1]},
        ],
        "outputs": [
            {"name": "sum", "datatype": "FP64", "shape": [-1, 2]},
            {"name": "flag", "datatype": "BOOL", "shape": []},
        ],
    }


def test_v2_metadata_response_carries_the_same_as_the_json() -> None:
    metadata = ModelMetadata("pair", ["3"], "onnx", PAIR)
    response = v2_metadata_response(metadata)
    assert (response.name, list(response.versions), response.platform) == ("pair", ["3"], "onnx")
    as_json = v2_metadata_json(metadata)
    for role in ("inputs", "outputs"):
        tensors = getattr(response, role)
        assert [
            {"name": t.name, "datatype": t.datatype, "shape": list(t.shape)} for t in tensors
        ] == as_json[role]
