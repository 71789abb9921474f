"""Per-version inference statistics, kept beside the Prometheus metrics for the Open Inference
Protocol's statistics extension (Triton's ``/v2/models/{m}/stats``): counts and cumulative
durations of successful and failed requests, in this worker process."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["Duration", "InferenceStatistics", "VersionStatistics"]


@dataclass
class Duration:
    """How many calls, and their total time in nanoseconds."""

    count: int = 0
    ns: int = 0


@dataclass
class VersionStatistics:
    """One model version's record; ``last_inference`` in milliseconds since the epoch."""

    success: Duration = field(default_factory=Duration)
    fail: Duration = field(default_factory=Duration)
    last_inference: int = 0

    def add(self, ok: bool, seconds: float) -> None:
        duration = self.success if ok else self.fail
        duration.count += 1
        duration.ns += int(seconds * 1e9)
        self.last_inference = time.time_ns() // 1_000_000


class InferenceStatistics:
    """Model name -> version -> :class:`VersionStatistics`; records are created on first use
    and looked up once per (model, version, status) by the metrics' child cache."""

    def __init__(self) -> None:
        self._models: dict[str, dict[int, VersionStatistics]] = {}

    def record(self, model: str, version: int) -> VersionStatistics:
        """The (possibly new) record of one version."""
        versions = self._models.setdefault(model, {})
        record = versions.get(version)
        if record is None:
            record = versions[version] = VersionStatistics()
        return record

    def of(self, model: str) -> dict[int, VersionStatistics]:
        """Every version of ``model`` that has answered a request."""
        return dict(self._models.get(model, {}))
