"""What the statistics extension's bookkeeping costs one request.

1. Micro: the statements a request adds (the dataplane's two clock reads around inference, the
   executor's ``perf_counter_ns`` pair, the version's record lookup and its integer adds), timed
   with ``timeit`` against the same loop without them.
2. In process: REST predicts of the MNIST MLP of ``make bench`` through the app (as
   ``drift_overhead.py`` does), with the executor's timing on and off, A B A B...; CPU time per
   request (``time.process_time``). The dataplane's part cannot be switched off; part 1 bounds it.

    python benchmarks/statistics_overhead.py --requests 3000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import timeit
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson

from benchmarks import models, payloads
from benchmarks.drift_overhead import _run
from modelship.lifecycle.manager import load_version
from modelship.registry import Registry, ServedVersion
from modelship.serving.dataplane import DataPlane
from modelship.serving.executor import ThreadExecutor
from modelship.serving.metrics import Metrics
from modelship.serving.rest.app import build_app
from modelship.serving.statistics import InferenceStatistics, VersionStatistics

WORK = Path(__file__).resolve().parent / ".work"


def _bookkeeping(stats: InferenceStatistics, record: VersionStatistics) -> None:
    # dataplane: the clock reads around inference; executor: its pair and the adds.
    started = time.perf_counter()
    before_work = time.perf_counter()
    input_ns = int((before_work - started) * 1e9)
    queued = time.perf_counter_ns()
    compute_start = time.perf_counter_ns()
    compute_ns = time.perf_counter_ns() - compute_start
    waited = time.perf_counter_ns() - queued - compute_ns
    stats.record("mnist", 1).ran_alone(1, max(waited, 0), compute_ns)
    after_work = time.perf_counter()
    output_ns = int((time.perf_counter() - after_work) * 1e9)
    record.add(True, 0.0001, input_ns, output_ns)


def _baseline(stats: InferenceStatistics, record: VersionStatistics) -> None:
    record.add(True, 0.0001)


def micro(number: int) -> float:
    """Seconds the statistics add to one request (best of five runs)."""
    stats = InferenceStatistics()
    record = stats.record("mnist", 1)
    new = min(timeit.repeat(lambda: _bookkeeping(stats, record), number=number, repeat=5))
    old = min(timeit.repeat(lambda: _baseline(stats, record), number=number, repeat=5))
    return (new - old) / number


def _measure(on: bool, served: ServedVersion, body: bytes, requests: int) -> float:
    registry = Registry()
    registry.add_model(served.model, served.path.parent)
    registry.set_version(served)
    executor = ThreadExecutor(threads=1)
    dataplane = DataPlane(registry, executor, Metrics(registry))
    if not on:
        executor.statistics = None
    app = build_app(dataplane, 1 << 20)
    path = f"/v1/models/{served.model}:predict"
    asyncio.run(_run(app, body, path, 50))  # warm-up
    start = time.process_time()
    asyncio.run(_run(app, body, path, requests))
    spent = time.process_time() - start
    executor.close()
    return spent / requests


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"bookkeeping: {micro(200_000) * 1e9:.0f} ns per request")
    info = models.prepare(WORK, Path(__file__).resolve().parents[1])["mnist"]
    served = ServedVersion(model="mnist", version=1, path=info.path.parent)
    load_version(served)
    body = orjson.dumps({"instances": payloads.instances(info.input_shape).tolist()})
    spent: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(args.rounds):
        for on in (False, True):
            spent[on].append(_measure(on, served, body, args.requests))
    off, on = statistics.median(spent[False]), statistics.median(spent[True])
    print(
        f"REST predict, executor timing off: {off * 1e6:.1f} us CPU, on: {on * 1e6:.1f} us CPU "
        f"per request (median of {args.rounds}); on/off {on / off:.3f}"
    )


if __name__ == "__main__":
    main()
