"""TF Serving's own warm-up file: ``assets.extra/tf_serving_warmup_requests``.

A SavedModel exported for TF Serving may carry the requests TF Serving runs before the version
serves: a TFRecord file of serialized ``tensorflow.serving.PredictionLog`` messages. Each log
becomes one (signature name, inputs) pair for modelship's warm-up:

- ``predict_log``: the request's input tensors, decoded as a gRPC Predict request's are;
- ``classify_log`` and ``regress_log``: the request's ``tf.Example`` list, read as a gRPC
  Classify or Regress request's is;
- ``multi_inference_log``: the request's examples, once per task (each names its signature).

Other log kinds (session-run, streamed predict) have no modelship equivalent; they are skipped
with a warning rather than failing the version, since TF Serving would run them.
"""

from __future__ import annotations

import logging
from pathlib import Path

from google.protobuf.message import DecodeError

from modelship.codecs.examples import examples_to_arrays
from modelship.codecs.tensor_proto import from_tensor_proto
from modelship.errors import BadConfig, ModelshipError
from modelship.lifecycle.tfrecord import read_records
from modelship.protos import tfs_prediction_log_pb2, tfs_prediction_service_pb2
from modelship.runtimes.base import Arrays, Runtime
from modelship.signature import DEFAULT_SIGNATURE

__all__ = ["MAX_RECORDS", "TFS_WARMUP_FILE", "tfs_warmup_requests"]

TFS_WARMUP_FILE = Path("assets.extra") / "tf_serving_warmup_requests"
# TF Serving's documented limit; a longer file fails the version there too.
MAX_RECORDS = 1000

logger = logging.getLogger(__name__)


def tfs_warmup_requests(path: Path, runtime: Runtime) -> list[tuple[str, Arrays]]:
    """The (signature name, inputs) pairs of the TF Serving warm-up file of version ``path``.

    Returns an empty list when the version has no such file.

    Raises:
        BadConfig: the file is truncated or corrupt, holds more than ``MAX_RECORDS`` records,
            a record is not a PredictionLog, or a request names an unknown signature or does
            not decode; the version must not serve.
    """
    file = path / TFS_WARMUP_FILE
    if not file.is_file():
        return []
    requests: list[tuple[str, Arrays]] = []
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


def _log_requests(
    log: tfs_prediction_log_pb2.PredictionLog, runtime: Runtime
) -> list[tuple[str, Arrays]]:
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
) -> tuple[str, Arrays]:
    name = _known(signature_name, runtime)
    return name, examples_to_arrays(request_input, runtime.signatures[name])


def _known(signature_name: str, runtime: Runtime) -> str:
    name = signature_name or DEFAULT_SIGNATURE
    if name not in runtime.signatures:
        raise BadConfig(f"the request names unknown signature {name!r}")
    return name
