"""Warm-up: requests run on a freshly loaded version before it takes traffic, so that its first
inference (buffers, kernel choice) does not land on users' requests. They come from TF Serving's
warm-up file, modelship's own, or zeros (:func:`warmup_requests`)."""

from __future__ import annotations

import json
import logging
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google_crc32c
import numpy as np
from google.protobuf.message import DecodeError

from modelship.codecs.conform import conform_inputs
from modelship.codecs.examples import examples_to_arrays
from modelship.codecs.tensor_proto import from_tensor_proto
from modelship.errors import BadConfig, ModelshipError
from modelship.manifest import Manifest
from modelship.protos import tfs_prediction_log_pb2, tfs_prediction_service_pb2
from modelship.runtimes.base import Arrays, Runtime
from modelship.signature import DEFAULT_SIGNATURE, Signature

__all__ = [
    "MAX_RECORDS",
    "TFS_WARMUP_FILE",
    "WARMUP_FILE",
    "read_records",
    "run_warmup",
    "tfrecord",
    "tfs_warmup_requests",
    "warmup_requests",
]

WARMUP_FILE = Path("assets.extra") / "warmup.json"
TFS_WARMUP_FILE = Path("assets.extra") / "tf_serving_warmup_requests"
# TF Serving's documented limit; a longer file fails the version there too.
MAX_RECORDS = 1000

logger = logging.getLogger(__name__)

Request = tuple[str, Arrays]  # (signature name, inputs)


def run_warmup(path: Path, manifest: Manifest | None, runtime: Runtime, iterations: int = 1) -> int:
    """Run every warm-up request (see :func:`warmup_requests`); returns how many ran.

    Raises:
        BadConfig: a warm-up file is malformed, or a request names an unknown signature or
            fails; the version must not serve.
    """
    started = time.monotonic()
    requests = warmup_requests(path, manifest, runtime, iterations)
    for index, (name, inputs) in enumerate(requests):
        if name not in runtime.signatures:
            raise BadConfig(f"warm-up request {index} names unknown signature {name!r}")
        try:
            runtime.predict(name, conform_inputs(runtime.signatures[name], inputs))
        except Exception as exc:  # whatever the runtime raises, this version cannot serve
            raise BadConfig(f"warm-up request {index} failed: {exc}") from exc
    took = time.monotonic() - started
    logger.info("warmed up %s with %d requests in %.3fs", path, len(requests), took)
    return len(requests)


def warmup_requests(
    path: Path, manifest: Manifest | None, runtime: Runtime, iterations: int = 1
) -> list[Request]:
    """The requests to run on the version at ``path``, in order:

    1. each record of TF Serving's ``assets.extra/tf_serving_warmup_requests`` (``PredictionLog``
       messages in a TFRecord file), ``iterations`` times in a row;
    2. ``assets.extra/warmup.json``, else the ``warmup`` key of ``modelship.json``: a JSON
       object ``{"signature_name": ..., "inputs": {"images": [[0.0, ...]]}}`` or a list of them;
    3. when neither holds a request and modelship exported the version (it has a
       ``modelship.json``), zeros for each signature, variable dimensions set to 1. A model
       from elsewhere runs only the requests it ships, as in TF Serving: zeros are data it may
       not accept (a tensor of unknown rank, a vocabulary id, a serialized example).

    Raises:
        BadConfig: a warm-up file is unreadable or malformed.
    """
    tfs = tfs_warmup_requests(path, runtime)
    own = _own_requests(path, manifest)
    if not tfs and own is None:
        if manifest is None:
            return []
        return [
            (name, _zeros(signature))
            for name, signature in runtime.signatures.items()
            if all(
                spec.dtype not in ("object", "bytes") and not spec.unknown_rank
                for spec in signature.inputs.values()
            )
        ]
    return [request for request in tfs for _ in range(iterations)] + (own or [])


def _own_requests(path: Path, manifest: Manifest | None) -> list[Request] | None:
    """modelship's recorded requests: warmup.json, else the manifest's key; None: neither."""
    recorded: Any = None
    if (path / WARMUP_FILE).is_file():
        try:
            recorded = json.loads((path / WARMUP_FILE).read_text())
        except ValueError as exc:
            raise BadConfig(f"{path / WARMUP_FILE} is not valid JSON: {exc}") from exc
    elif manifest is not None and "warmup" in manifest.extra:
        recorded = manifest.extra["warmup"]
    if recorded is None:
        return None
    items = recorded if isinstance(recorded, list) else [recorded]
    requests = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("inputs"), dict):
            raise BadConfig(f'warm-up requests of {path} must be objects with an "inputs" object')
        name = str(item.get("signature_name") or DEFAULT_SIGNATURE)
        requests.append((name, {k: np.asarray(v) for k, v in item["inputs"].items()}))
    return requests


def _zeros(signature: Signature) -> Arrays:
    return {
        name: np.zeros(tuple(d if d > 0 else 1 for d in spec.shape), dtype=spec.numpy_dtype)
        for name, spec in signature.inputs.items()
    }


def tfs_warmup_requests(path: Path, runtime: Runtime) -> list[Request]:
    """The requests of the TF Serving warm-up file of version ``path`` (none without one).

    Predict, classify, regress and multi-inference logs (once per task) become requests; the
    kinds modelship cannot run (session-run, streamed predict) are skipped with a warning.

    Raises:
        BadConfig: a corrupt file, over ``MAX_RECORDS`` records, or a record that is not a
            PredictionLog or not a request for this version.
    """
    file = path / TFS_WARMUP_FILE
    if not file.is_file():
        return []
    requests: list[Request] = []
    index = -1
    for index, record in enumerate(read_records(file)):
        if index == MAX_RECORDS:
            raise BadConfig(f"{file} holds more than {MAX_RECORDS} records, TF Serving's limit")
        log = tfs_prediction_log_pb2.PredictionLog()
        try:
            log.ParseFromString(record)
        except DecodeError as exc:
            raise BadConfig(f"{file}: record {index} is not a PredictionLog: {exc}") from exc
        try:
            requests.extend(_log_requests(log, runtime))
        except ModelshipError as exc:
            raise BadConfig(f"{file}: record {index}: {exc.message}") from exc
        if log.WhichOneof("log_type") is None:
            logger.warning(
                "%s: record %d is a log kind modelship cannot run (session-run or streamed "
                "predict); skipped",
                file,
                index,
            )
    logger.info("%s: %d warm-up records read, %d requests", file, index + 1, len(requests))
    return requests


def _log_requests(log: tfs_prediction_log_pb2.PredictionLog, runtime: Runtime) -> list[Request]:
    kind = log.WhichOneof("log_type")
    if kind == "predict_log":
        request = log.predict_log.request
        name = _known(request.model_spec.signature_name, runtime)
        inputs = {key: from_tensor_proto(key, tensor) for key, tensor in request.inputs.items()}
        return [(name, inputs)]
    if kind in ("classify_log", "regress_log"):
        inner = log.classify_log.request if kind == "classify_log" else log.regress_log.request
        return [_examples(inner.model_spec.signature_name, inner.input, runtime)]
    if kind == "multi_inference_log":
        multi = log.multi_inference_log.request
        return [
            _examples(task.model_spec.signature_name, multi.input, runtime) for task in multi.tasks
        ]
    return []


def _examples(
    signature_name: str, request_input: tfs_prediction_service_pb2.Input, runtime: Runtime
) -> Request:
    name = _known(signature_name, runtime)
    return name, examples_to_arrays(request_input, runtime.signatures[name])


def _known(signature_name: str, runtime: Runtime) -> str:
    name = signature_name or DEFAULT_SIGNATURE
    if name not in runtime.signatures:
        raise BadConfig(f"the request names unknown signature {name!r}")
    return name


# TFRecord framing: a little-endian uint64 length, a masked CRC32C of those 8 bytes, the data,
# a masked CRC32C of the data. Both checksums are verified, so a corrupt length is reported as
# such rather than as a truncation, and altered data as altered.
_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")
_MASK_DELTA = 0xA282EAD8


def _masked_crc(data: bytes | memoryview) -> int:
    """TFRecord's checksum: CRC32C rotated right by 15 bits plus a constant, mod 2**32."""
    crc = int(google_crc32c.value(bytes(data)))
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def tfrecord(data: bytes) -> bytes:
    """``data`` framed as one TFRecord (what :func:`read_records` reads back)."""
    length = struct.pack("<Q", len(data))
    return length + _FOOTER.pack(_masked_crc(length)) + data + _FOOTER.pack(_masked_crc(data))


def read_records(path: Path) -> Iterator[bytes]:
    """Yield the data of each record of the TFRecord file at ``path``, in order; raise
    BadConfig (naming the record and its offset) if it is unreadable, truncated or corrupt."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise BadConfig(f"cannot read {path}: {exc.strerror or exc}") from exc
    # Whole file in memory: warm-up files hold a handful of requests.
    view = memoryview(content)
    offset, index = 0, 0
    while offset < len(content):
        if len(content) - offset < _HEADER.size:
            raise BadConfig(
                f"{path}: record {index} at byte {offset} is truncated "
                f"({len(content) - offset} bytes left, a record header needs {_HEADER.size})"
            )
        length, length_crc = _HEADER.unpack_from(view, offset)
        if _masked_crc(view[offset : offset + 8]) != length_crc:
            raise BadConfig(
                f"{path}: record {index} at byte {offset} is corrupt (its length's checksum "
                "does not match): not a TFRecord file, or damaged"
            )
        start = offset + _HEADER.size
        end = start + length + _FOOTER.size
        if end > len(content):
            raise BadConfig(
                f"{path}: record {index} at byte {offset} is truncated or corrupt "
                f"(it declares {length} bytes, the file has {len(content) - start} left)"
            )
        data = view[start : start + length]
        (data_crc,) = _FOOTER.unpack_from(view, start + length)
        if _masked_crc(data) != data_crc:
            raise BadConfig(
                f"{path}: record {index} at byte {offset} is corrupt (its data's checksum "
                "does not match)"
            )
        yield bytes(data)
        offset, index = end, index + 1
