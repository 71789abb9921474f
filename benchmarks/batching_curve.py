"""Dynamic batching against what the runtime offers: two curves per model.

Offline: onnxruntime's own throughput per row at batch 1, 4, 8 and 32 (one session as modelship
opens it, in this process, no server). Under load: ``modelship serve`` with and without
``--enable_batching`` under wrk, one row per request; the batch sizes the server formed are read
from its ``modelship_batch_size`` histogram. The share of the offline gain realised is
``(served gain - 1) / (offline gain at the mean batch formed - 1)``, the gain being rows/s over
rows/s at batch 1 (offline) or without batching (served).

    .venv/bin/python -m benchmarks.batching_curve --json batching.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import numpy as np
import onnxruntime as ort
from prometheus_client.parser import text_string_to_metric_families

from benchmarks import models, payloads, wrk
from benchmarks.targets import Server, targets

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
BATCHES = (1, 4, 8, 32)
# connections per model: enough requests in flight to fill batches of 32
CONNECTIONS = {"mnist": 64, "cnn": 32}


def offline_rows_per_second(model: models.ModelInfo, batch: int, seconds: float) -> float:
    """onnxruntime's rows per second at ``batch``: the best of five timed windows, as other
    processes on a shared machine only ever make a window slower."""
    options = ort.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(
        str(model.path), sess_options=options, providers=["CPUExecutionProvider"]
    )
    feed = {model.input_name: payloads.instances(model.input_shape, count=batch)}
    session.run(None, feed)
    rates = []
    for _ in range(5):
        runs, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds / 5:
            session.run(None, feed)
            runs += 1
        rates.append(runs * batch / (time.perf_counter() - started))
    return max(rates)


def _batch_totals(server: Server) -> tuple[float, float]:
    """Batches run so far and the rows in them."""
    text = httpx.get(server.url + "/metrics", timeout=10).text
    count = total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "modelship_batch_size_count":
                count += sample.value
            elif sample.name == "modelship_batch_size_sum":
                total += sample.value
    return count, total


def served(model: models.ModelInfo, batching: bool, seconds: float) -> dict[str, Any]:
    """Requests per second of modelship with or without batching, and the mean batch formed."""
    name = "modelship+batch" if batching else "modelship"
    data = payloads.image()[0] if model.name == "cnn" else payloads.instances(model.input_shape)
    payload = payloads.make("tfs", model.name, model.input_name, data)
    server = Server(targets(1)[name], model, WORK / "logs")
    try:
        server.wait_ready()
        connections = CONNECTIONS[model.name]
        wrk.run(server.url, payload, WORK / "wrk", 4, 1.0)  # warm-up
        count, rows = _batch_totals(server) if batching else (0.0, 0.0)
        result = wrk.run(server.url, payload, WORK / "wrk", connections, seconds)
        mean = 1.0
        if batching:  # the batches of the measured window only, not the warm-up's
            count_after, rows_after = _batch_totals(server)
            mean = (rows_after - rows) / max(1.0, count_after - count)
    finally:
        server.stop()
    return {"rps": result.rps, "p99_ms": result.p99_ms, "errors": result.errors, "batch": mean}


def _interpolate(curve: dict[int, float], batch: float) -> float:
    sizes = sorted(curve)
    return float(np.interp(batch, sizes, [curve[b] for b in sizes]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=6.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="served runs, alternating")
    parser.add_argument("--models", default="mnist,cnn")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    infos = models.prepare(WORK, HERE.parent)
    report: dict[str, Any] = {}
    for name in args.models.split(","):
        model = infos[name]
        curve = {b: offline_rows_per_second(model, b, args.seconds / 2) for b in BATCHES}
        runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
        for _ in range(args.rounds):
            for batching in (False, True):
                runs[batching].append(served(model, batching, args.seconds))
        off = float(np.median([r["rps"] for r in runs[False]]))
        on = float(np.median([r["rps"] for r in runs[True]]))
        formed = float(np.median([r["batch"] for r in runs[True]]))
        offline_gain = _interpolate(curve, formed) / curve[1]
        served_gain = on / off if off else 0.0
        realised = (served_gain - 1) / (offline_gain - 1) if offline_gain > 1 else float("nan")
        report[name] = {
            "offline_rows_per_s": curve,
            "offline_gain_by_batch": {b: curve[b] / curve[1] for b in BATCHES},
            "served_rps_without": off,
            "served_rps_with": on,
            "mean_batch_formed": formed,
            "offline_gain_at_that_batch": offline_gain,
            "served_gain": served_gain,
            "share_of_offline_gain": realised,
            "runs": {"without": runs[False], "with": runs[True]},
        }
        print(
            f"{name}: offline rows/s {', '.join(f'b{b} {r:,.0f}' for b, r in curve.items())}; "
            f"served {off:,.0f} -> {on:,.0f} req/s with batching (mean batch {formed:.1f}): "
            f"gain {served_gain:.2f}x of {offline_gain:.2f}x offline = {realised:.0%}",
            flush=True,
        )
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
