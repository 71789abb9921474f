"""What drift monitoring (and request logging) costs a REST predict, in CPU seconds of the
whole process.

In process, no sockets: the MNIST MLP of ``make bench`` (with training statistics), one
784-float row per request through the REST app's predict fast path, as an ASGI call. Each
configuration (off, then sampling rates) runs in turn, A B C A B C...; a run's CPU time
(``time.process_time``: every thread, the tap's included, its queue drained before the clock
stops) is divided by its requests. CPU time is steadier than wall time on a shared machine.
``--log-rate`` also logs that share of requests to TFRecord files (a ``logging_config``).

    python benchmarks/drift_overhead.py --requests 3000 --rounds 5 --rates 0.1,1.0
    valgrind --tool=callgrind python benchmarks/drift_overhead.py --single 0.1 --requests 1200
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson

from benchmarks import models, payloads
from modelship.lifecycle.config import ModelConfig, RequestLogging
from modelship.lifecycle.manager import load_version
from modelship.registry import Registry, ServedVersion
from modelship.serving.dataplane import DataPlane
from modelship.serving.drift import DriftMonitor
from modelship.serving.executor import ThreadExecutor
from modelship.serving.metrics import Metrics
from modelship.serving.requestlog import RequestLogger
from modelship.serving.rest.app import build_app
from modelship.serving.tap import Monitor, RequestTap

WORK = Path(__file__).resolve().parent / ".work"


async def _predict(app: Any, body: bytes, path: str) -> int:
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(b"content-type", b"application/json")],
        "query_string": b"",
    }
    await app(scope, receive, send)
    return int(sent[0]["status"])


async def _run(app: Any, body: bytes, path: str, requests: int) -> None:
    for _ in range(requests):
        status = await _predict(app, body, path)
        if status != 200:
            raise SystemExit(f"predict answered {status}")


def _measure(
    rate: float, served: ServedVersion, body: bytes, requests: int, log_rate: float = 0.0
) -> float:
    registry = Registry()
    registry.add_model(served.model, served.path.parent)
    registry.set_version(served)
    metrics = Metrics(registry)
    executor = ThreadExecutor(threads=1)
    dataplane = DataPlane(registry, executor, metrics)
    monitors: list[Monitor] = [DriftMonitor(metrics, rate)] if rate > 0 else []
    if rate > 0 and log_rate > 0:
        logs = RequestLogging(str(WORK / "request-logs" / served.model), log_rate)
        configs = [ModelConfig(served.model, served.path.parent, logging=logs)]
        monitors.append(RequestLogger(metrics, lambda: configs))
    tap = RequestTap(monitors) if monitors else None
    dataplane.tap = tap
    app = build_app(dataplane, 1 << 20)
    path = f"/v1/models/{served.model}:predict"
    asyncio.run(_run(app, body, path, 50))  # warm-up
    start = time.process_time()
    asyncio.run(_run(app, body, path, requests))
    if tap is not None:
        tap.drain()
    spent = time.process_time() - start
    if tap is not None:
        tap.close()
    executor.close()
    return spent / requests


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rates", default="0.1,1.0", help="sampling rates to compare with off")
    parser.add_argument(
        "--log-rate", type=float, default=0.0, help="with each rate, log this share too"
    )
    parser.add_argument(
        "--single",
        type=float,
        default=None,
        metavar="RATE",
        help="one run at this rate and exit (to count instructions under valgrind: run twice "
        "with different --requests and take the difference)",
    )
    args = parser.parse_args(argv)
    info = models.prepare(WORK, Path(__file__).resolve().parents[1])["mnist"]
    served = ServedVersion(model="mnist", version=1, path=info.path.parent)
    load_version(served)
    row = payloads.instances(info.input_shape)
    body = orjson.dumps({"instances": row.tolist()})
    if args.single is not None:
        _measure(args.single, served, body, args.requests, args.log_rate)
        return
    rates = [0.0, *(float(r) for r in args.rates.split(","))]
    spent: dict[float, list[float]] = {rate: [] for rate in rates}
    for round_no in range(args.rounds):
        for rate in rates:
            spent[rate].append(_measure(rate, served, body, args.requests, args.log_rate))
            print(f"round {round_no + 1} rate {rate}: {spent[rate][-1] * 1e6:.1f} us CPU/request")
    off = statistics.median(spent[0.0])
    print(f"off: {off * 1e6:.1f} us CPU per request (median of {args.rounds})")
    for rate in rates[1:]:
        on = statistics.median(spent[rate])
        print(
            f"sampling rate {rate}: {on * 1e6:.1f} us CPU per request, "
            f"req per CPU-second on/off {off / on:.3f}"
        )


if __name__ == "__main__":
    main()
