"""TensorFlow Serving's JSON tensor format: request bodies to arrays, arrays to response bodies.
Conversion is numpy's, never a Python loop over elements, so large tensors stay fast.
"""

from __future__ import annotations

import base64
import binascii
import gc
import json
import math
from itertools import chain
from typing import Any

import numpy as np
import orjson

from modelship.codecs.limits import MAX_DIMS
from modelship.errors import InvalidInput
from modelship.signature import Arrays, Signature

__all__ = [
    "decode_body",
    "encode_outputs",
    "find_images",
    "images_array",
    "is_b64",
    "parse_predict_body",
    "to_array",
]


# Bodies at least this large are parsed with the garbage collector paused (see decode_body).
_PAUSE_GC_BYTES = 256 * 1024


def decode_body(raw: bytes) -> Any:
    """Parse a JSON body; NaN and +/-Infinity are accepted as TF Serving accepts them."""
    try:
        if len(raw) < _PAUSE_GC_BYTES or not gc.isenabled():
            return orjson.loads(raw)
        # A tensor as JSON is tens of thousands of small lists: each few hundred of them set off
        # a collection that rescans them all. Pausing the collector for the parse halves the
        # cost of a 224x224x3 image (PROFILE.md); it runs once afterwards.
        gc.disable()
        try:
            return orjson.loads(raw)
        finally:
            gc.enable()
    except orjson.JSONDecodeError as exc:
        # orjson refuses the NaN/Infinity literals TF Serving allows; the stdlib parser takes them.
        if b"NaN" in raw or b"Infinity" in raw:
            return _decode_with_constants(raw, exc)
        raise InvalidInput(f"the body is not valid JSON: {exc}") from exc


def _decode_with_constants(raw: bytes, orjson_error: Exception) -> Any:
    """The stdlib parser, held to what orjson accepts: it recurses once per nesting level
    and keeps integers of any length, which the numeric conversion could not take."""
    try:
        return json.loads(raw, parse_int=_bounded_int)
    except RecursionError:
        raise InvalidInput("the body is not valid JSON: it nests too deeply") from None
    except ValueError:
        raise InvalidInput(f"the body is not valid JSON: {orjson_error}") from orjson_error


def _bounded_int(text: str) -> int | float:
    # orjson's rule: integers beyond 64 bits are read as doubles, refused when infinite.
    if len(text) <= 20:
        value = int(text)
        if -(2**63) <= value < 2**64:
            return value
    as_float = float(text)
    if math.isinf(as_float):
        raise ValueError(f"the integer {text[:20]}... is too large")
    return as_float


def parse_predict_body(body: Any, signature: Signature) -> tuple[Arrays, bool]:
    """The body's arrays (not yet conformed) and whether it used the row format."""
    if not isinstance(body, dict):
        raise InvalidInput(
            'the body must be a JSON object such as {"instances": [...]} or {"inputs": ...}'
        )
    has_rows, has_cols = "instances" in body, "inputs" in body
    if has_rows and has_cols:
        raise InvalidInput('send either "instances" (row format) or "inputs" (columnar), not both')
    if not has_rows and not has_cols:
        raise InvalidInput('missing "instances" (row format) or "inputs" (columnar format)')
    if has_rows:
        return _parse_instances(body["instances"], signature), True
    return _parse_columns(body["inputs"], signature), False


def _parse_instances(instances: Any, signature: Signature) -> Arrays:
    if not isinstance(instances, list):
        raise InvalidInput('"instances" must be a list with one element per example')
    if not instances:
        raise InvalidInput('"instances" is empty: send at least one example')
    names = list(signature.inputs)
    first = instances[0]
    named = isinstance(first, dict) and "b64" not in first
    if not named:
        if len(names) != 1:
            raise InvalidInput(
                f"the signature has {len(names)} inputs ({', '.join(names)}): each instance "
                "must be an object naming them"
            )
        return {names[0]: to_array(names[0], instances, signature)}
    columns: dict[str, list[Any]] = {}
    for i, instance in enumerate(instances):
        if not isinstance(instance, dict):
            raise InvalidInput(f"instance {i} is not an object like the first one")
        if i and instance.keys() != first.keys():
            raise InvalidInput(
                f"instance {i} names inputs {sorted(instance)}, instance 0 names {sorted(first)}"
            )
        for key, value in instance.items():
            columns.setdefault(key, []).append(value)
    return {key: to_array(key, values, signature) for key, values in columns.items()}


def _parse_columns(inputs: Any, signature: Signature) -> Arrays:
    names = list(signature.inputs)
    if isinstance(inputs, dict) and "b64" not in inputs:
        return {key: to_array(key, value, signature) for key, value in inputs.items()}
    if len(names) != 1:
        raise InvalidInput(
            f"the signature has {len(names)} inputs ({', '.join(names)}): "
            '"inputs" must be an object naming them'
        )
    return {names[0]: to_array(names[0], inputs, signature)}


def to_array(name: str, value: Any, signature: Signature) -> np.ndarray[Any, Any]:
    """One input's JSON value as an array of the signature's dtype (numbers) or of bytes."""
    spec = signature.inputs.get(name)
    dtype = spec.numpy_dtype if spec is not None else None
    binary = _looks_binary(name, value)
    if binary and dtype is not None and dtype.kind != "O":
        raise InvalidInput(
            f"input {name!r} must hold {dtype.name} numbers, not strings or b64 values"
        )
    if binary or (dtype is not None and dtype.kind == "O"):
        return _to_bytes_array(name, value)
    if dtype is not None and dtype.kind in "iub":
        # Read as JSON wrote them: conform refuses 3.5 or 1e20 rather than truncate them.
        dtype = None
    elif dtype is not None and dtype.kind == "f":
        rows = _float_rows(value, dtype)
        if rows is not None:
            return rows
    try:
        return np.asarray(value, dtype=dtype)
    except ValueError as exc:
        text = str(exc)
        if "inhomogeneous" in text or "sequence" in text:
            raise InvalidInput(
                f"input {name!r} is ragged: every example must have the same shape"
            ) from exc
        raise InvalidInput(f"input {name!r} must hold numbers: {text}") from exc
    except (TypeError, OverflowError) as exc:
        raise InvalidInput(f"input {name!r} must hold numbers: {exc}") from exc


def _float_rows(value: Any, dtype: np.dtype[Any]) -> np.ndarray[Any, Any] | None:
    """A list of equally long lists of numbers as a 2-D array of ``dtype``; None for any other
    shape, or a value ``np.asarray`` should read (and explain) instead.

    ``np.fromiter`` converts each value as ``np.asarray`` does, without its first pass over
    every value to find the shape and types: a third less work for the common request of
    rows of numbers (benchmarks/results/PROFILE.md).
    """
    if not isinstance(value, list) or not value:
        return None
    first = value[0]
    if not isinstance(first, list) or not first or isinstance(first[0], list | dict):
        return None
    width = len(first)
    for row in value:
        if not isinstance(row, list) or len(row) != width:
            return None
    items = first if len(value) == 1 else chain.from_iterable(value)
    try:
        return np.fromiter(items, dtype, count=len(value) * width).reshape(len(value), width)
    except (TypeError, ValueError, OverflowError):
        return None  # np.asarray reads it again and says what is wrong


def _looks_binary(name: str, value: Any) -> bool:
    depth = 0
    while isinstance(value, list) and value:
        value = value[0]
        depth += 1
        if depth > MAX_DIMS:
            raise InvalidInput(
                f"input {name!r} nests lists more than {MAX_DIMS} deep; tensors have at most "
                f"{MAX_DIMS} dimensions"
            )
    return isinstance(value, dict | str)


def _to_bytes_array(name: str, value: Any) -> np.ndarray[Any, Any]:
    """Strings and ``{"b64": ...}`` objects become an object array of ``bytes``."""

    def convert(item: Any, depth: int = 0) -> Any:
        if isinstance(item, list):
            if depth >= MAX_DIMS:  # deeper than the first example: ragged
                raise InvalidInput(f"input {name!r} is ragged or nests more than {MAX_DIMS} deep")
            return [convert(x, depth + 1) for x in item]
        if isinstance(item, dict):
            if set(item) != {"b64"} or not isinstance(item["b64"], str):
                raise InvalidInput(f'input {name!r}: binary values are written {{"b64": "..."}}')
            try:
                return base64.b64decode(item["b64"], validate=True)
            except (binascii.Error, ValueError) as exc:
                raise InvalidInput(f"input {name!r}: the b64 value is not base64: {exc}") from exc
        if isinstance(item, str):
            try:
                return item.encode()
            except UnicodeEncodeError as exc:  # a lone surrogate ("\ud800") read with NaN
                raise InvalidInput(
                    f"input {name!r} holds a string that is not valid Unicode: {exc.reason}"
                ) from None
        if isinstance(item, bool | int | float):
            raise InvalidInput(f"input {name!r} mixes numbers with strings or binary values")
        raise InvalidInput(f"input {name!r} holds an unsupported value {item!r}")

    converted = convert(value)
    array = np.empty(_shape_of(converted), dtype=object)
    array[...] = converted if array.ndim == 0 else _fill(converted)
    if array.ndim and not all(isinstance(item, bytes) for item in array.flat):
        raise InvalidInput(f"input {name!r} is ragged: every example must have the same shape")
    return array


def _shape_of(value: Any) -> tuple[int, ...]:
    shape: list[int] = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return tuple(shape)


def _fill(value: Any) -> Any:
    try:
        return np.array(value, dtype=object)
    except ValueError as exc:
        raise InvalidInput(
            "binary inputs are ragged: every example must have the same shape"
        ) from exc


def encode_outputs(outputs: Arrays, row_format: bool) -> bytes:
    """The response body for ``outputs`` in the request's format."""
    if len(outputs) == 1:
        # The common answer, one numeric tensor, in one orjson call (a fifth of the general
        # path's cost for a small tensor).
        (arr,) = outputs.values()
        if arr.dtype.kind in "fiub" and arr.dtype != np.float16 and arr.flags.c_contiguous:
            key = "predictions" if row_format else "outputs"
            encoded = orjson.dumps({key: arr}, option=orjson.OPT_SERIALIZE_NUMPY)
            # orjson writes NaN and +/-Infinity as null, which a numeric tensor never holds
            # otherwise; only then is the general path (TF Serving's NaN literals) needed.
            if arr.dtype.kind != "f" or b"null" not in encoded:
                return encoded
    finite = True
    for arr in outputs.values():
        # One reduction instead of an isfinite mask: a sum is finite only if every value is
        # (a sum that overflows merely takes the slower, equally correct path below).
        if arr.dtype.kind == "f" and not math.isfinite(arr.sum()):
            finite = False
            break
    prepared = {name: _jsonable(name, arr, finite) for name, arr in outputs.items()}
    if row_format:
        if len(prepared) == 1:
            body: Any = {"predictions": next(iter(prepared.values()))}
        else:
            names = list(prepared)
            rows = len(next(iter(outputs.values())))
            body = {"predictions": [{n: prepared[n][i] for n in names} for i in range(rows)]}
    elif len(prepared) == 1:
        body = {"outputs": next(iter(prepared.values()))}
    else:
        body = {"outputs": prepared}
    if not finite:
        # orjson would write null; TF Serving writes NaN and Infinity, which its clients parse.
        return json.dumps(body, allow_nan=True, separators=(",", ":")).encode()
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)


def _jsonable(name: str, arr: np.ndarray[Any, Any], numpy_ok: bool) -> Any:
    if arr.dtype == object or arr.dtype.kind in "SU":
        return _strings(arr.tolist(), as_b64=name.endswith("_bytes"))
    if numpy_ok and arr.dtype.kind in "fiub" and arr.dtype != np.float16:
        return np.ascontiguousarray(arr)  # orjson writes numpy arrays natively, fast
    return arr.tolist()


def _strings(value: Any, as_b64: bool) -> Any:
    if isinstance(value, list):
        return [_strings(v, as_b64) for v in value]
    if isinstance(value, bytes):
        if as_b64:
            return {"b64": base64.b64encode(value).decode()}
        return value.decode("utf-8", errors="replace")
    return value


def is_b64(value: Any) -> bool:
    """Whether ``value`` is one ``{"b64": ...}`` object, TF Serving's form of binary data."""
    return isinstance(value, dict) and set(value) == {"b64"}


def find_images(body: Any, signature: Signature) -> tuple[str, list[Any], bool] | None:
    """The b64 values of an image request: ``(input name, values, row format)``; None for
    anything else, left to the JSON tensor parser, which explains what is wrong.
    """
    if not isinstance(body, dict) or ("instances" in body) == ("inputs" in body):
        return None
    if len(signature.inputs) != 1:
        return None
    (name,) = signature.inputs
    row_format = "instances" in body
    value = body["instances"] if row_format else body["inputs"]
    if isinstance(value, dict) and set(value) == {name}:
        value = value[name]
    if is_b64(value):
        value = [value]
    if not isinstance(value, list) or not value:
        return None
    if row_format and isinstance(value[0], dict) and set(value[0]) == {name}:
        value = [item.get(name) if isinstance(item, dict) else item for item in value]
    if not is_b64(value[0]):
        return None
    return name, value, row_format


def images_array(values: list[Any]) -> np.ndarray[Any, Any]:
    """A 1-D object array of ``values`` as they are; base64 is decoded later, off the loop."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array
