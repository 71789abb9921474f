"""Periodic jobs on shared wall-clock ticks."""

from __future__ import annotations

import threading

import pytest

from modelship.lifecycle.core import next_tick, run_jobs


@pytest.mark.parametrize(
    ("now", "wait", "expected"),
    [(100.05, 0.2, 100.2), (100.2, 0.2, 100.4), (7.0, 1.0, 8.0), (7.9, 1.0, 8.0)],
)
def test_next_tick_is_the_next_multiple_of_the_wait(
    now: float, wait: float, expected: float
) -> None:
    assert next_tick(now, wait) == pytest.approx(expected)


def test_two_processes_started_apart_share_their_ticks() -> None:
    assert next_tick(1000.013, 0.5) == next_tick(1000.377, 0.5)


def test_jobs_run_until_stopped_and_survive_their_exceptions() -> None:
    stop = threading.Event()
    runs: list[str] = []

    def failing() -> None:
        runs.append("failing")
        raise RuntimeError("a broken pass")

    def counting() -> None:
        runs.append("counting")
        if runs.count("counting") >= 3:
            stop.set()

    runner = threading.Thread(target=run_jobs, args=([(0.01, failing), (0.01, counting)], stop))
    runner.start()
    runner.join(timeout=30)
    assert not runner.is_alive()
    assert runs.count("counting") == 3
    assert runs.count("failing") >= 3  # a failing job keeps its schedule
