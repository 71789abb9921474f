"""The dtype table, looked up from each format's side and back, for every entry."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from modelship.codecs.dtypes import (
    DTYPES,
    DType,
    by_numpy,
    by_tf_name,
    by_v2,
    for_array,
    tf_dtype_name,
    v2_datatype,
)
from modelship.protos import tf_tensor_pb2, v2_grpc_service_pb2

# The table as TF Serving and the Open Inference Protocol name each type.
EXPECTED = [
    ("float32", "DT_FLOAT", "FP32"),
    ("float64", "DT_DOUBLE", "FP64"),
    ("float16", "DT_HALF", "FP16"),
    ("int8", "DT_INT8", "INT8"),
    ("int16", "DT_INT16", "INT16"),
    ("int32", "DT_INT32", "INT32"),
    ("int64", "DT_INT64", "INT64"),
    ("uint8", "DT_UINT8", "UINT8"),
    ("uint16", "DT_UINT16", "UINT16"),
    ("uint32", "DT_UINT32", "UINT32"),
    ("uint64", "DT_UINT64", "UINT64"),
    ("bool", "DT_BOOL", "BOOL"),
    ("object", "DT_STRING", "BYTES"),
]

_BY_DTYPE = {d.numpy: d for d in DTYPES}


def _ids(entry: DType) -> str:
    return entry.v2


def test_the_table_holds_each_type_once_with_its_names() -> None:
    assert [(d.numpy.name, d.tf_name, d.v2) for d in DTYPES] == EXPECTED


@pytest.mark.parametrize("entry", DTYPES, ids=_ids)
def test_every_entry_is_found_from_each_of_its_names(entry: DType) -> None:
    assert by_numpy(entry.numpy.name) is entry
    assert by_tf_name(entry.tf_name) is entry
    assert by_v2(entry.v2) is entry
    assert tf_dtype_name(entry.numpy.name) == entry.tf_name
    assert v2_datatype(entry.numpy.name) == entry.v2


@pytest.mark.parametrize("entry", DTYPES, ids=_ids)
def test_every_entry_names_fields_the_messages_have(entry: DType) -> None:
    assert tf_tensor_pb2.DataType.Value(entry.tf_name) > 0
    assert entry.tensor_field in tf_tensor_pb2.TensorProto.DESCRIPTOR.fields_by_name
    if entry.v2_contents is not None:
        assert (
            entry.v2_contents in v2_grpc_service_pb2.InferTensorContents.DESCRIPTOR.fields_by_name
        )


@pytest.mark.parametrize("entry", DTYPES, ids=_ids)
def test_an_array_of_each_type_finds_its_entry(entry: DType) -> None:
    assert for_array(np.zeros(2, dtype=entry.numpy)) is entry


@pytest.mark.parametrize("entry", DTYPES, ids=_ids)
def test_wire_bytes_are_little_endian(entry: DType) -> None:
    assert entry.little_endian.byteorder in ("<", "|") or (
        entry.little_endian.byteorder == "=" and np.little_endian
    )
    assert entry.little_endian.itemsize == entry.numpy.itemsize
    assert entry.little_endian.kind == entry.numpy.kind


def test_halves_travel_only_raw_over_the_open_inference_protocol() -> None:
    half = by_v2("FP16")
    assert half is not None
    assert half.tensor_field == "half_val"
    assert half.v2_contents is None
    assert [d.v2 for d in DTYPES if d.v2_contents is None] == ["FP16"]


@pytest.mark.parametrize("name", ["object", "bytes"])
def test_signatures_write_strings_as_object_or_bytes(name: str) -> None:
    entry = by_numpy(name)
    assert entry is not None
    assert (entry.tf_name, entry.v2, entry.tensor_field) == ("DT_STRING", "BYTES", "string_val")


@pytest.mark.parametrize("name", ["float", "f4", "<f4", "int", "?"])
def test_numpy_aliases_find_the_same_entry(name: str) -> None:
    assert by_numpy(name) is _BY_DTYPE[np.dtype(name)]


@pytest.mark.parametrize("name", ["complex64", "datetime64[s]", "U8", "nonsense", ""])
def test_types_no_format_carries_have_no_entry(name: str) -> None:
    assert by_numpy(name) is None
    assert tf_dtype_name(name) == "DT_INVALID"


@pytest.mark.parametrize("name", ["DT_COMPLEX64", "DT_BFLOAT16", "float32", ""])
def test_unknown_tensorflow_names_have_no_entry(name: str) -> None:
    assert by_tf_name(name) is None


@pytest.mark.parametrize("name", ["fp32", "BF16", "STRING", "DT_FLOAT", ""])
def test_unknown_open_inference_names_have_no_entry(name: str) -> None:
    assert by_v2(name) is None


@pytest.mark.parametrize(
    "array",
    [np.array(["a", "bc"]), np.array([b"a", b"bc"]), np.array([b"a", "b"], dtype=object)],
    ids=["str", "bytes", "object"],
)
def test_arrays_of_strings_are_bytes_tensors(array: np.ndarray[Any, Any]) -> None:
    entry = for_array(array)
    assert entry is not None
    assert entry.v2 == "BYTES"


def test_a_big_endian_array_finds_its_native_entry() -> None:
    assert for_array(np.zeros(2, dtype=">f4")) is by_v2("FP32")
    assert for_array(np.zeros(2, dtype=">i8")) is by_v2("INT64")


@pytest.mark.parametrize("dtype", ["complex64", "complex128", "datetime64[s]", "timedelta64[s]"])
def test_arrays_no_format_carries_have_no_entry(dtype: str) -> None:
    assert for_array(np.zeros(2, dtype=dtype)) is None
