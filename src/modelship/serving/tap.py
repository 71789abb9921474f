"""Samples of served requests, handed to monitors off the request path.

The request path only draws a random number and appends to a bounded deque; a background
thread hands each sample to the monitors that asked for it (drift, the request log). When the
thread falls behind, the oldest samples are dropped and counted, never the request delayed.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from modelship.manifest import Manifest
from modelship.signature import Arrays

__all__ = ["Monitor", "RequestTap", "Sample"]

logger = logging.getLogger("modelship.monitoring")

# Samples waiting for the thread; beyond this the oldest go (bounded memory under any load).
_QUEUE_SAMPLES = 256
_POLL_SECONDS = 0.25


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs 3x on the request path
class Sample:
    """One sampled inference: what the model got and what it answered."""

    model: str
    version: int
    manifest: Manifest | None
    signature_name: str
    inputs: Arrays
    outputs: Arrays
    time: float


class Monitor(Protocol):
    """Something that wants a share of the served requests."""

    def sampling_rate(self, model: str) -> float:
        """The share of ``model``'s requests this monitor wants, in [0, 1]."""
        ...

    def consume(self, sample: Sample) -> None:
        """Look at one sample (on the tap's thread)."""
        ...

    def flush(self, force: bool) -> None:
        """The samples waiting have all been consumed: publish what they changed (now when
        ``force``, else when the monitor's own pace says so)."""
        ...

    def close(self) -> None:
        """Flush and let go of files and threads."""
        ...


class RequestTap:
    """Draws samples on the request path, feeds them to monitors on its own thread."""

    def __init__(self, monitors: list[Monitor], queue_samples: int = _QUEUE_SAMPLES) -> None:
        self.monitors = monitors
        self.dropped = 0
        self._queue: deque[Sample] = deque()
        self._limit = queue_samples
        self._rates: dict[str, float] = {}
        self._random = random.random
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="modelship-tap", daemon=True)
        self._thread.start()

    def offer(
        self,
        model: str,
        version: int,
        manifest: Manifest | None,
        signature_name: str,
        inputs: Arrays,
        outputs: Arrays,
    ) -> None:
        """Called once per answered request: keep it for the monitors, or not (cheap)."""
        rate = self._rates.get(model)
        if rate is None:
            rate = self._rates[model] = self._rate(model)
        if rate <= 0.0 or (rate < 1.0 and self._random() >= rate):
            return
        queue = self._queue
        if len(queue) >= self._limit:
            queue.popleft()
            self.dropped += 1
        queue.append(Sample(model, version, manifest, signature_name, inputs, outputs, time.time()))

    def refresh(self) -> None:
        """Forget the cached sampling rates (after the model config changed)."""
        self._rates = {}

    def _rate(self, model: str) -> float:
        return max((m.sampling_rate(model) for m in self.monitors), default=0.0)

    def _run(self) -> None:
        while not self._stop.wait(_POLL_SECONDS):
            self.drain(force=False)
            # Rates are asked again now and then: a model config reload may change them.
            self._rates = {}

    def drain(self, force: bool = True) -> None:
        """Hand every waiting sample to the monitors that drew it, then let them publish."""
        queue = self._queue
        while queue:
            sample = queue.popleft()
            rate = self._rates.get(sample.model) or self._rate(sample.model)
            for monitor in self.monitors:
                share = monitor.sampling_rate(sample.model) / rate if rate > 0 else 0.0
                if share >= 1.0 or (share > 0.0 and self._random() < share):
                    try:
                        monitor.consume(sample)
                    except Exception:  # a monitor's bug must not stop the others
                        logger.exception("monitor %s failed on a sample", type(monitor).__name__)
        for monitor in self.monitors:
            try:
                monitor.flush(force)
            except Exception:
                logger.exception("monitor %s failed to publish", type(monitor).__name__)

    def close(self) -> None:
        """Stop the thread, hand over what is left, close the monitors."""
        self._stop.set()
        self._thread.join(timeout=5)
        self.drain()
        for monitor in self.monitors:
            monitor.close()
