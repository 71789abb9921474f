"""Periodic jobs on wall-clock ticks shared by every process of the machine.

A job with a wait of 0.2 s runs at every multiple of 0.2 s since the epoch, whenever its process
started: the workers of one server look at the repository at the same moments, so they find
(and load) a new version together instead of up to one poll wait apart.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence

__all__ = ["Job", "next_tick", "run_jobs"]

logger = logging.getLogger("modelship.lifecycle")

# (wait in seconds, action)
Job = tuple[float, Callable[[], None]]


def next_tick(now: float, wait: float) -> float:
    """The first multiple of ``wait`` on the wall clock after ``now``."""
    return (math.floor(now / wait) + 1) * wait


def run_jobs(jobs: Sequence[Job], stop: threading.Event) -> None:
    """Run each job on its ticks until ``stop`` is set; an exception is logged, never fatal.

    Jobs due at the same tick run in the order given. A job still running at its next tick
    skips the ticks it missed.
    """
    if not jobs:
        return
    due = [next_tick(time.time(), wait) for wait, _ in jobs]
    # Sleep until the next due job exactly: a coarse tick would delay every new version.
    while not stop.wait(max(0.0, min(due) - time.time())):
        for i, (wait, action) in enumerate(jobs):
            now = time.time()
            if due[i] - now > wait:  # the clock was set back: realign, run nothing
                due[i] = next_tick(now, wait)
            elif now >= due[i]:
                due[i] = next_tick(now, wait)
                try:
                    action()
                except Exception:  # the watcher must outlive any one pass
                    logger.exception("lifecycle pass failed")
