"""TF Serving's request logging: a model's ``logging_config`` writes a sampled share of its
requests, with their responses, as ``PredictionLog`` records in TFRecord files.

Records are written by the request tap's thread, never on the request path. A file is named
``<filename_prefix>.<pid>.<n>.tfrecord`` and a new one starts when it would pass
``max_file_bytes``. A record that cannot be written (disk full, prefix not writable) is dropped
and counted (``modelship_request_log_dropped_total``); the last error is kept for the status.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from modelship.codecs.tensor_proto import to_tensor_proto
from modelship.lifecycle.config import ModelConfig, RequestLogging
from modelship.lifecycle.warmup import tfrecord
from modelship.protos import tf_tensor_pb2, tfs_prediction_log_pb2
from modelship.serving.metrics import Metrics
from modelship.serving.tap import Sample

__all__ = ["RequestLogger", "prediction_log"]

logger = logging.getLogger("modelship.request_log")

DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024


def prediction_log(sample: Sample, rate: float) -> tfs_prediction_log_pb2.PredictionLog:
    """The ``PredictionLog`` of one sampled predict: request, response and who answered."""
    log = tfs_prediction_log_pb2.PredictionLog()
    metadata = log.log_metadata
    metadata.model_spec.name = sample.model
    metadata.model_spec.version.value = sample.version
    metadata.model_spec.signature_name = sample.signature_name
    metadata.sampling_config.sampling_rate = rate
    metadata.timestamp_secs = int(sample.time)
    request = log.predict_log.request
    request.model_spec.CopyFrom(metadata.model_spec)
    for name, array in sample.inputs.items():
        request.inputs[name].CopyFrom(_tensor(array))
    response = log.predict_log.response
    response.model_spec.CopyFrom(metadata.model_spec)
    for name, array in sample.outputs.items():
        response.outputs[name].CopyFrom(_tensor(array))
    return log


def _tensor(array: np.ndarray[Any, Any]) -> tf_tensor_pb2.TensorProto:
    """``array`` as a TensorProto; numbers as ``tensor_content`` bytes, which cost a copy where
    the typed fields cost a Python object per value (784 floats: ~10x faster)."""
    if array.dtype.kind not in "biuf":
        return to_tensor_proto(array)
    proto = to_tensor_proto(np.empty(0, dtype=array.dtype))  # the dtype's enum value
    del proto.tensor_shape.dim[:]
    proto.tensor_shape.dim.extend(tf_tensor_pb2.TensorShapeProto.Dim(size=d) for d in array.shape)
    proto.tensor_content = np.ascontiguousarray(
        array, dtype=array.dtype.newbyteorder("<")
    ).tobytes()
    return proto


@dataclass
class _Sink:
    """The open log file of one filename prefix, and what went wrong with it."""

    prefix: str
    file: IO[bytes] | None = None
    written: int = 0
    files: int = 0
    records: int = 0
    dropped: int = 0
    error: str = ""
    paths: list[str] = field(default_factory=list)


class RequestLogger:
    """The :class:`~modelship.serving.tap.Monitor` that writes the models' request logs."""

    def __init__(
        self,
        metrics: Metrics,
        configs: Callable[[], list[ModelConfig]],
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> None:
        self.metrics = metrics
        self.configs = configs
        self.max_file_bytes = max_file_bytes
        self._sinks: dict[str, _Sink] = {}
        self._lock = threading.Lock()

    def _logging(self, model: str) -> RequestLogging | None:
        for config in self.configs():
            if config.name == model:
                return config.logging
        return None

    def sampling_rate(self, model: str) -> float:
        logging_config = self._logging(model)
        return logging_config.sampling_rate if logging_config is not None else 0.0

    def consume(self, sample: Sample) -> None:
        config = self._logging(sample.model)
        if config is None:
            return
        record = tfrecord(prediction_log(sample, config.sampling_rate).SerializeToString())
        with self._lock:
            sink = self._sinks.get(config.filename_prefix)
            if sink is None:
                sink = self._sinks[config.filename_prefix] = _Sink(config.filename_prefix)
            self._write(sink, record, sample.model)

    def _write(self, sink: _Sink, record: bytes, model: str) -> None:
        try:
            if sink.file is None or sink.written + len(record) > self.max_file_bytes:
                self._rotate(sink)
            assert sink.file is not None
            sink.file.write(record)
            sink.written += len(record)
            sink.records += 1
            sink.error = ""
        except OSError as exc:
            sink.dropped += 1
            if not sink.error:
                logger.warning("request log %s: record dropped: %s", sink.prefix, exc)
            sink.error = f"{exc.strerror or exc} ({exc.filename or sink.prefix})"
            self.metrics.request_log_dropped(model)
            self._close(sink)  # the next record tries a new file (the disk may have room again)

    def _rotate(self, sink: _Sink) -> None:
        self._close(sink)
        path = f"{sink.prefix}.{os.getpid()}.{sink.files:05d}.tfrecord"
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        sink.file = open(path, "ab")  # noqa: SIM115 - kept open across records, closed on rotation
        sink.files += 1
        sink.written = 0
        sink.paths.append(path)

    def _close(self, sink: _Sink) -> None:
        file, sink.file = sink.file, None
        if file is not None:
            try:
                file.close()
            except OSError as exc:  # buffered records could not be flushed: they are lost
                sink.error = f"{exc.strerror or exc} ({exc.filename or sink.prefix})"

    def flush(self, force: bool) -> None:
        """Push buffered records to the files, so readers see them within a poll or two."""
        with self._lock:
            for sink in self._sinks.values():
                if sink.file is None:
                    continue
                try:
                    sink.file.flush()
                except OSError as exc:
                    sink.dropped += 1
                    sink.error = f"{exc.strerror or exc} ({exc.filename or sink.prefix})"
                    self._close(sink)

    def report(self) -> list[dict[str, Any]]:
        """Per model with a ``logging_config``: its prefix, rate, records, drops, last error."""
        answer = []
        with self._lock:
            for config in self.configs():
                if config.logging is None:
                    continue
                sink = self._sinks.get(config.logging.filename_prefix) or _Sink("")
                answer.append(
                    {
                        "model": config.name,
                        "filename_prefix": config.logging.filename_prefix,
                        "sampling_rate": config.logging.sampling_rate,
                        "records": sink.records,
                        "dropped": sink.dropped,
                        "files": sink.paths[-5:],
                        "error": sink.error,
                    }
                )
        return answer

    def close(self) -> None:
        with self._lock:
            for sink in self._sinks.values():
                self._close(sink)
