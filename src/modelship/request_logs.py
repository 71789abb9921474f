"""Production traffic, from request logs, turned into what the lifecycle takes: a version's
warm-up file and ``validate --data`` input.

The logs are the TFRecord files of ``PredictionLog`` records a ``logging_config`` writes (TF
Serving's format, so TF Serving's logs work too). The evaluation set holds each logged input row
with, as its class, the one the serving version predicted: a candidate validated on it is
measured against what production answered (agreement), not against ground truth.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from modelship.codecs.tensor_proto import from_tensor_proto
from modelship.errors import BadConfig
from modelship.lifecycle.warmup import MAX_RECORDS, TFS_WARMUP_FILE, read_records, tfrecord
from modelship.protos import tfs_prediction_log_pb2

__all__ = ["logged_predictions", "write_eval_npz", "write_warmup"]


def _logs(
    paths: Sequence[Path],
) -> Iterator[tuple[Path, bytes, tfs_prediction_log_pb2.PredictionLog]]:
    for path in paths:
        for record in read_records(path):
            log = tfs_prediction_log_pb2.PredictionLog()
            log.ParseFromString(record)
            yield path, record, log


def write_warmup(paths: Sequence[Path], version_dir: Path, max_records: int = MAX_RECORDS) -> int:
    """Write the first ``max_records`` predict logs of ``paths`` as ``version_dir``'s
    ``assets.extra/tf_serving_warmup_requests``; returns how many."""
    if not 1 <= max_records <= MAX_RECORDS:
        raise BadConfig(f"--max-records must be in [1, {MAX_RECORDS}] (TF Serving's limit)")
    if not version_dir.is_dir():
        raise BadConfig(f"{version_dir} is not a version directory")
    chosen = []
    for _, record, log in _logs(paths):
        if log.WhichOneof("log_type") == "predict_log":
            chosen.append(tfrecord(record))
        if len(chosen) == max_records:
            break
    if not chosen:
        raise BadConfig("the request logs hold no predict log")
    target = version_dir / TFS_WARMUP_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(b"".join(chosen))
    partial.replace(target)  # a loader never reads half a file
    return len(chosen)


def logged_predictions(
    paths: Sequence[Path], input_name: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    """Every logged predict's input rows (``input_name``, or the request's only input) and the
    class the serving version predicted for each (argmax of its response's only output)."""
    rows, classes = [], []
    for path, _, log in _logs(paths):
        if log.WhichOneof("log_type") != "predict_log":
            continue
        request, response = log.predict_log.request, log.predict_log.response
        name = input_name or _only(list(request.inputs), "input", path)
        if name not in request.inputs:
            raise BadConfig(f"{path}: a logged request has no input {name!r}")
        x = from_tensor_proto(name, request.inputs[name])
        output = _only(list(response.outputs), "output", path)
        scores = from_tensor_proto(output, response.outputs[output])
        if scores.ndim != 2 or len(scores) != len(x):
            raise BadConfig(f"{path}: output {output!r} is not one row of class scores per input")
        rows.append(x.reshape(len(x), -1).astype(np.float32))
        classes.append(np.argmax(scores, axis=1))
    if not rows:
        raise BadConfig("the request logs hold no predict log with a response")
    return np.concatenate(rows), np.concatenate(classes).astype(np.int64)


def write_eval_npz(paths: Sequence[Path], output: Path, input_name: str = "") -> int:
    """Write :func:`logged_predictions` as a ``.npz`` with ``x`` and ``y`` (what ``validate
    --data`` reads); returns the number of rows."""
    x, y = logged_predictions(paths, input_name)
    output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(output, x=x, y=y)
    return len(x)


def _only(names: list[str], kind: str, path: Path) -> str:
    if len(names) != 1:
        raise BadConfig(f"{path}: logged requests have {kind}s {names}; name the one to use")
    return names[0]
