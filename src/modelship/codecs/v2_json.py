"""Open Inference Protocol bodies over REST: JSON tensors and the binary tensor data extension.
Numeric binary inputs become numpy views of the body (``np.frombuffer``): no copy and no
per-element Python work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from modelship.codecs import dtypes
from modelship.codecs.bytes_framing import raw_bytes, split_bytes
from modelship.codecs.classification import classification_count
from modelship.codecs.conform import exact_cast
from modelship.codecs.limits import element_count
from modelship.errors import InvalidInput
from modelship.signature import Arrays

__all__ = ["V2Request", "decode_request", "encode_response"]


@dataclass
class V2Request:
    """A decoded inference request."""

    inputs: Arrays
    id: str | None = None
    # Requested outputs in order (empty: all) and which of them are wanted in binary.
    outputs: list[str] = field(default_factory=list)
    binary_outputs: set[str] = field(default_factory=set)
    all_binary: bool = False
    # Outputs asked as classes (the classification extension): name -> how many.
    classifications: dict[str, int] = field(default_factory=dict)


def decode_request(body: bytes, header_length: str | None) -> V2Request:
    """Parse a V2 ``infer`` body (JSON, or JSON header + binary tensors)."""
    if header_length is not None:
        digits = header_length.isascii() and header_length.isdigit()
        if not digits or len(header_length) > 18 or int(header_length) > len(body):
            raise InvalidInput(
                f"Inference-Header-Content-Length {header_length!r} does not fit a body of "
                f"{len(body)} bytes"
            )
        split = int(header_length)
        header_bytes, binary = body[:split], memoryview(body)[split:]
    else:
        header_bytes, binary = body, memoryview(b"")
    try:
        header = orjson.loads(header_bytes)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the inference header is not valid JSON: {exc}") from exc
    if not isinstance(header, dict) or not isinstance(header.get("inputs"), list):
        raise InvalidInput('the body must be a JSON object with an "inputs" list')
    inputs: Arrays = {}
    offset = 0
    for index, tensor in enumerate(header["inputs"]):
        name, array, used = _decode_input(index, tensor, binary, offset)
        if name in inputs:
            raise InvalidInput(f"input {name!r} is given twice")
        inputs[name] = array
        offset += used
    if offset != len(binary):
        raise InvalidInput(
            f"the body has {len(binary)} bytes of binary tensor data but the inputs declare "
            f"{offset} (parameters.binary_data_size)"
        )
    request = V2Request(inputs=inputs, id=_optional_str(header.get("id"), "id"))
    params = _object(header.get("parameters"), '"parameters"')
    request.all_binary = bool(params.get("binary_data_output"))
    outputs = header.get("outputs") or []
    if not isinstance(outputs, list):
        raise InvalidInput('"outputs" must be a list of objects such as {"name": "scores"}')
    for wanted in outputs:
        if not isinstance(wanted, dict) or not isinstance(wanted.get("name"), str):
            raise InvalidInput('each requested output must be an object with a "name"')
        request.outputs.append(wanted["name"])
        parameters = _object(wanted.get("parameters"), f"output {wanted['name']!r}: parameters")
        if parameters.get("binary_data", request.all_binary):
            request.binary_outputs.add(wanted["name"])
        if "classification" in parameters:
            count = classification_count(wanted["name"], parameters["classification"])
            request.classifications[wanted["name"]] = count
    return request


def _decode_input(
    index: int, tensor: Any, binary: memoryview, offset: int
) -> tuple[str, np.ndarray[Any, Any], int]:
    if not isinstance(tensor, dict):
        raise InvalidInput(f"input {index} must be an object with name, shape, datatype, data")
    name = tensor.get("name")
    if not isinstance(name, str):
        raise InvalidInput(f'input {index} has no "name"')
    datatype = tensor.get("datatype")
    entry = dtypes.by_v2(datatype) if isinstance(datatype, str) else None
    if entry is None:
        raise InvalidInput(
            f"input {name!r}: datatype {datatype!r} is not supported; use one of "
            + ", ".join(d.v2 for d in dtypes.DTYPES)
        )
    shape = tensor.get("shape")
    if not isinstance(shape, list) or not all(
        type(d) is int and d >= 0
        for d in shape  # bool is an int subclass: refused
    ):
        raise InvalidInput(f"input {name!r}: shape must be a list of non-negative integers")
    dtype = entry.little_endian
    count = element_count(name, shape)  # a huge shape cannot wrap around to a small count
    size = _object(tensor.get("parameters"), f"input {name!r}: parameters").get("binary_data_size")
    if size is not None:
        if not isinstance(size, int) or size < 0 or offset + size > len(binary):
            raise InvalidInput(
                f"input {name!r}: binary_data_size {size!r} runs past the {len(binary)} bytes "
                "of binary data in the body"
            )
        chunk = binary[offset : offset + size]
        if dtype.kind == "O":
            flat = split_bytes(name, chunk)
        else:
            if size != count * dtype.itemsize:
                raise InvalidInput(
                    f"input {name!r}: binary_data_size is {size} bytes but shape {shape} of "
                    f"{datatype} needs {count * dtype.itemsize}"
                )
            flat = np.frombuffer(chunk, dtype=dtype)
        used = size
    else:
        if "data" not in tensor:
            raise InvalidInput(f'input {name!r} has neither "data" nor binary_data_size')
        flat = _from_json(name, tensor["data"], dtype)
        used = 0
    if flat.size != count:
        raise InvalidInput(
            f"input {name!r}: shape {shape} needs {count} values, the data holds {flat.size}"
        )
    return name, flat.reshape(shape), used


def _from_json(name: str, data: Any, dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    if dtype.kind == "O":
        items = np.asarray(data, dtype=object).reshape(-1)
        if not all(isinstance(v, str) for v in items):
            raise InvalidInput(f"input {name!r}: BYTES data must be strings")
        out = np.empty(items.size, dtype=object)
        out[:] = [v.encode() for v in items]
        return out
    if dtype.kind == "f" and isinstance(data, list) and data and not isinstance(data[0], list):
        # Flat numbers (the usual form): np.fromiter converts each as np.asarray does, without
        # its first pass over every value; anything it cannot read goes to np.asarray below.
        try:
            return np.fromiter(data, dtype, count=len(data))
        except (TypeError, ValueError, OverflowError):
            pass
    try:
        if dtype.kind not in "iub":
            return np.asarray(data, dtype=dtype).reshape(-1)
        # Read as JSON wrote them, then cast refusing what would change (3.5, 2**40 for INT32).
        natural = np.asarray(data)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput(f"input {name!r}: data must be {dtype.name} values: {exc}") from exc
    if natural.dtype.kind not in "iubf":
        raise InvalidInput(f"input {name!r}: data must be {dtype.name} values")
    return exact_cast(name, natural, dtype).reshape(-1)


def _object(value: Any, what: str) -> dict[str, Any]:
    """A JSON object the protocol allows to be absent (null counts as absent)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a JSON object")
    return value


def _optional_str(value: Any, key: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InvalidInput(f'"{key}" must be a string')


def datatype_of(array: np.ndarray[Any, Any]) -> str:
    """The V2 datatype name of a numpy array (BYTES for strings and objects)."""
    entry = dtypes.for_array(array)
    if entry is None:
        raise InvalidInput(f"outputs of type {array.dtype} cannot be sent over V2")
    return entry.v2


def encode_response(
    model: str, version: str, request: V2Request, outputs: Arrays
) -> tuple[bytes, int | None]:
    """The response body and, when some outputs are binary, the JSON header's length."""
    tensors: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for name, value in outputs.items():
        array = np.asarray(value)
        datatype = datatype_of(array)
        tensor: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(array.shape)}
        if request.all_binary or name in request.binary_outputs:
            raw = raw_bytes(array)
            tensor["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        elif datatype == "BYTES":
            tensor["data"] = [_text(v) for v in array.reshape(-1).tolist()]
        else:
            tensor["data"] = np.ascontiguousarray(array.reshape(-1))
        tensors.append(tensor)
    body: dict[str, Any] = {"model_name": model, "model_version": version, "outputs": tensors}
    if request.id is not None:
        body["id"] = request.id
    header = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
    if not chunks:
        return header, None
    return header + b"".join(chunks), len(header)


def _text(value: Any) -> Any:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
