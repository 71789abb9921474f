"""TF Serving's ``--batching_parameters_file``: a ``BatchingParameters`` text proto, read by
protobuf's own parser so the syntax is exactly TF Serving's and mistakes carry line and column.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import text_format

from modelship.errors import BadConfig
from modelship.protos import batching_parameters_pb2

__all__ = ["BatchingParameters", "parse_batching_parameters", "read_batching_parameters"]


@dataclass(frozen=True)
class BatchingParameters:
    """How requests to one version are merged into batches. Defaults suit a CPU; no timeout, as
    one only added latency under load (benchmarks/results/PROFILE.md, 6).
    """

    max_batch_size: int = 64
    batch_timeout_micros: int = 0
    max_enqueued_batches: int = 100
    num_batch_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    allowed_batch_sizes: tuple[int, ...] = ()
    pad_variable_length_inputs: bool = False

    def __post_init__(self) -> None:
        for name in ("max_batch_size", "max_enqueued_batches", "num_batch_threads"):
            if getattr(self, name) < 1:
                raise BadConfig(f"batching parameter {name} must be at least 1")
        if self.batch_timeout_micros < 0:
            raise BadConfig("batching parameter batch_timeout_micros must not be negative")
        sizes = self.allowed_batch_sizes
        if sizes:
            if any(b <= a for a, b in itertools.pairwise(sizes)) or sizes[0] < 1:
                raise BadConfig("allowed_batch_sizes must be positive and strictly increasing")
            if sizes[-1] != self.max_batch_size:
                raise BadConfig(
                    f"the last allowed_batch_sizes entry ({sizes[-1]}) must equal "
                    f"max_batch_size ({self.max_batch_size})"
                )

    def padded_size(self, rows: int) -> int:
        """The batch size ``rows`` is padded to (itself when no sizes are imposed)."""
        for size in self.allowed_batch_sizes:
            if size >= rows:
                return size
        return rows


def parse_batching_parameters(
    text: str, source: str = "<batching parameters>"
) -> BatchingParameters:
    """Parse a ``BatchingParameters`` text proto; omitted fields keep their defaults."""
    message = batching_parameters_pb2.BatchingParameters()
    try:
        text_format.Parse(text, message)
    except text_format.ParseError as exc:
        raise BadConfig(f"{source}:{exc}") from None
    values: dict[str, Any] = {}
    for name in ("max_batch_size", "batch_timeout_micros", "max_enqueued_batches"):
        if message.HasField(name):
            values[name] = getattr(message, name).value
    if message.HasField("num_batch_threads"):
        values["num_batch_threads"] = message.num_batch_threads.value
    if message.allowed_batch_sizes:
        values["allowed_batch_sizes"] = tuple(message.allowed_batch_sizes)
    values["pad_variable_length_inputs"] = message.pad_variable_length_inputs
    if "allowed_batch_sizes" in values and "max_batch_size" not in values:
        # TF Serving requires the last allowed size to be the maximum; take it as the maximum.
        values["max_batch_size"] = values["allowed_batch_sizes"][-1]
    try:
        return BatchingParameters(**values)
    except BadConfig as exc:
        raise BadConfig(f"{source}:{_line_of(text, exc.message)} {exc.message}") from None


def _line_of(text: str, message: str) -> str:
    """``N:`` for the first line setting the field that a validation message names first."""
    fields = batching_parameters_pb2.BatchingParameters.DESCRIPTOR.fields_by_name
    named = [(message.find(name), name) for name in fields if name in message]
    if not named:
        return ""
    field_name = min(named)[1]
    for number, line in enumerate(text.splitlines(), start=1):
        if re.search(rf"\b{field_name}\b", line):
            return f"{number}:"
    return ""


def read_batching_parameters(path: Path | None) -> BatchingParameters:
    """The parameters in ``path``, or the defaults when no file is given."""
    if path is None:
        return BatchingParameters()
    try:
        text = path.read_text()
    except OSError as exc:
        raise BadConfig(f"cannot read --batching_parameters_file {path}: {exc}") from None
    return parse_batching_parameters(text, str(path))
