"""The event-loop lag monitor and its metric."""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from modelship.serving.looplag import LoopLagMonitor
from modelship.serving.metrics import Metrics


async def _sample(block_seconds: float, wait: float) -> list[float]:
    samples: list[float] = []
    monitor = LoopLagMonitor(samples.append, interval=0.01)
    monitor.start(asyncio.get_running_loop())
    if block_seconds:
        time.sleep(block_seconds)  # a long call on the loop holds every callback back
    await asyncio.sleep(wait)
    monitor.stop()
    count = len(samples)
    await asyncio.sleep(0.05)
    assert len(samples) == count, "a stopped monitor took samples"
    return samples


def test_a_blocked_loop_shows_as_lag() -> None:
    samples = asyncio.run(_sample(0.2, 0.05))
    # The first tick was due 0.01 s after start and could only run after the 0.2 s block.
    assert samples[0] >= 0.2 - 0.01
    assert all(lag >= 0 for lag in samples)


def test_an_idle_loop_keeps_sampling() -> None:
    samples = asyncio.run(_sample(0.0, 0.2))
    assert len(samples) >= 2
    assert all(lag >= 0 for lag in samples)


def test_the_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        LoopLagMonitor(lambda lag: None, interval=0)


def test_the_samples_reach_the_histogram() -> None:
    metrics = Metrics()
    metrics.loop_lag(0.003)
    metrics.loop_lag(0.3)
    families = {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}
    samples = {
        (s.name, s.labels.get("le")): s.value
        for s in families["modelship_event_loop_lag_seconds"].samples
    }
    assert samples[("modelship_event_loop_lag_seconds_count", None)] == 2
    assert samples[("modelship_event_loop_lag_seconds_bucket", "0.005")] == 1
    assert samples[("modelship_event_loop_lag_seconds_bucket", "0.5")] == 2
    assert samples[("modelship_event_loop_lag_seconds_sum", None)] == pytest.approx(0.303)
