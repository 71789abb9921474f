"""Dynamic batching against what the runtime offers: two curves per model, per encoding.

Offline: onnxruntime's rows per second at batch 1, 4, 8 and 32, through modelship's own
:class:`~modelship.runtimes.onnx.OnnxRuntime` (the session options and thread count the server
uses), in this process, no server. The batch sizes take turns in short windows, several rounds,
and each keeps its best window: another process on a shared machine only ever makes a window
slower, and the turns spread its load over every batch size alike.

Under load: ``modelship serve`` with and without ``--enable_batching`` (the benchmark's
batching file: ``max_batch_size`` 32, ``batch_timeout_micros`` 2000, two batch threads), one
row per request, for each encoding: ``tfs`` (JSON floats, wrk), ``v2-binary`` (REST with the
binary tensor extension, wrk) and ``grpc-v2`` (``ModelInfer`` with raw contents, h2load). The
batch sizes the server formed come from its ``modelship_batch_size`` histogram, its CPU time
from /proc (the server's process group).

Figures per model and encoding: the served gain (req/s with batching over req/s without), the
offline gain at the mean batch formed (rows/s there over rows/s at batch 1), and the share of
the offline gain realised, ``(served gain - 1) / (offline gain - 1)``. A request costs the run
and everything around it (parsing, the pipeline, HTTP); batching only makes the run cheaper, so
with ``run share`` the run's part of a request's server CPU time without batching (offline
seconds per row at batch 1 over the server's CPU seconds per request) the served gain is at most
``1 / (1 - share + share / offline gain)``, and never more than ``1 / (1 - share)``.

    .venv/bin/python -m benchmarks.batching_curve --json batching.json
    .venv/bin/python -m benchmarks.batching_curve --models cnn --encodings v2-binary,grpc-v2

JSON keys (``--json``): ``{model: {"offline_rows_per_s": {batch: rows/s},
"offline_gain_by_batch": {batch: gain}, "run_seconds_per_row_b1": s, "encodings": {encoding:
{...}}}}``, each encoding with ``served_rps_without``, ``served_rps_with``,
``cpu_seconds_per_request_without``, ``cpu_seconds_per_request_with``, ``mean_batch_formed``,
``offline_gain_at_that_batch``, ``served_gain``, ``served_gain_per_cpu_second``,
``share_of_offline_gain`` (the target: at least 0.8; NaN below a 5 % offline gain), ``run_share``,
``served_gain_bound_at_that_batch``, ``served_gain_bound`` (``1 / (1 - run_share)``),
``share_of_bound_realised`` and ``runs`` (each run's ``rps``, ``p99_ms``, ``errors``,
``batch``, ``cpu_seconds_per_request``). The first encoding's figures (``tfs`` by default: JSON
floats, as the first measurements were) are repeated at the model's level, ``runs`` excepted,
with ``encoding`` naming it.
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
from prometheus_client.parser import text_string_to_metric_families

from benchmarks import h2load, models, payloads, pyload, wrk
from benchmarks.targets import CpuMeter, Server, Target, _modelship, modelship_flags
from modelship.runtimes.onnx import OnnxRuntime

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
BATCHES = (1, 4, 8, 32)
ENCODINGS = ("tfs", "v2-binary", "grpc-v2")
# requests in flight per model: enough to fill batches of 32 (the CNN's JSON bodies are 1 MB)
IN_FLIGHT = {"mnist": 64, "cnn": 32}
WINDOW_SECONDS = 0.25
MIN_OFFLINE_GAIN = 1.05


def offline_curve(model: models.ModelInfo, seconds: float) -> dict[int, float]:
    """onnxruntime's rows per second at each of :data:`BATCHES`, best window of each."""
    runtime = OnnxRuntime(model.path)
    name = next(iter(runtime.signatures))
    feeds = {b: {model.input_name: payloads.instances(model.input_shape, count=b)} for b in BATCHES}
    for feed in feeds.values():
        runtime.predict(name, feed)
    best = dict.fromkeys(BATCHES, 0.0)
    rounds = max(1, int(seconds / (WINDOW_SECONDS * len(BATCHES))))
    for _ in range(rounds):
        for batch, feed in feeds.items():
            runs, started = 0, time.perf_counter()
            while (elapsed := time.perf_counter() - started) < WINDOW_SECONDS:
                runtime.predict(name, feed)
                runs += 1
            best[batch] = max(best[batch], runs * batch / elapsed)
    runtime.close()
    return best


def _batch_totals(server: Server) -> tuple[float, float]:
    """Batches run so far and the rows in them."""
    text = httpx.get(server.url + "/metrics", timeout=60).text
    count = total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "modelship_batch_size_count":
                count += sample.value
            elif sample.name == "modelship_batch_size_sum":
                total += sample.value
    return count, total


def _target(batching: bool, encoding: str, flags: set[str]) -> Target:
    """One worker, with or without batching, with a gRPC port for the gRPC encodings."""
    return _modelship(1, batching=batching, grpc=encoding.startswith("grpc"), flags=flags)


def _load(server: Server, model: models.ModelInfo, encoding: str, seconds: float) -> wrk.WrkResult:
    array = payloads.image()[0] if model.name == "cnn" else payloads.instances(model.input_shape)
    in_flight = IN_FLIGHT[model.name]
    if encoding.startswith("grpc"):
        call = payloads.grpc_call(encoding, model.name, model.input_name, array)
        address = f"127.0.0.1:{server.grpc_port}"
        server.answer_bytes = len(h2load.grpc_frame(pyload.grpc_raw_call(address, call)))
        streams = in_flight // 4
        return h2load.run(
            f"http://{address}{call.path}",
            h2load.grpc_frame(call.message),
            server.answer_bytes,
            WORK / "h2load",
            in_flight // streams,
            streams,
            seconds,
        )
    payload = payloads.make(encoding, model.name, model.input_name, array)
    return wrk.run(server.url, payload, WORK / "wrk", in_flight, seconds)


def served(
    model: models.ModelInfo, encoding: str, batching: bool, seconds: float, flags: set[str]
) -> dict[str, Any]:
    """Requests per second of modelship with or without batching, the server's CPU seconds per
    request and the mean batch formed."""
    server = Server(_target(batching, encoding, flags), model, WORK / "logs")
    try:
        server.wait_ready()
        _load(server, model, encoding, 1.0)  # warm-up
        server.wait_idle()  # the warm-up's queued requests must not land in the window
        count, rows = _batch_totals(server) if batching else (0.0, 0.0)
        meter = CpuMeter(server)
        meter.start()
        started = time.monotonic()
        result = _load(server, model, encoding, seconds)
        cpu = meter.stop() / 100 * (time.monotonic() - started)
        mean = 1.0
        if batching:  # the batches of the measured window only, not the warm-up's
            # Requests wrk left queued (1 MB bodies of the CNN take seconds) would hold the
            # scrape back on the event loop: let them finish first.
            server.wait_idle(timeout=120)
            count_after, rows_after = _batch_totals(server)
            mean = (rows_after - rows) / max(1.0, count_after - count)
    finally:
        server.stop()
    return {
        "rps": result.rps,
        "p99_ms": result.p99_ms,
        "errors": result.errors,
        "batch": mean,
        "cpu_seconds_per_request": cpu / max(1, result.requests),
    }


def _interpolate(curve: dict[int, float], batch: float) -> float:
    sizes = sorted(curve)
    return float(np.interp(batch, sizes, [curve[b] for b in sizes]))


def figures(curve: dict[int, float], runs: dict[bool, list[dict[str, Any]]]) -> dict[str, Any]:
    """One encoding's figures from the offline curve and its served runs (medians)."""

    def median(batching: bool, key: str) -> float:
        return float(np.median([r[key] for r in runs[batching]]))

    off, on = median(False, "rps"), median(True, "rps")
    cpu_off, cpu_on = (
        median(False, "cpu_seconds_per_request"),
        median(True, "cpu_seconds_per_request"),
    )
    formed = median(True, "batch")
    offline_gain = _interpolate(curve, formed) / curve[1]
    served_gain = on / off if off else 0.0
    # Below a 5 % offline gain the share is a ratio of noise: none is given.
    meaningful = offline_gain > MIN_OFFLINE_GAIN
    realised = (served_gain - 1) / (offline_gain - 1) if meaningful else float("nan")
    share = min(1.0, (1 / curve[1]) / cpu_off) if cpu_off else float("nan")
    bound_here = 1 / (1 - share + share / offline_gain)
    bound = 1 / (1 - share) if share < 1 else float("inf")
    return {
        "served_rps_without": off,
        "served_rps_with": on,
        "cpu_seconds_per_request_without": cpu_off,
        "cpu_seconds_per_request_with": cpu_on,
        "mean_batch_formed": formed,
        "offline_gain_at_that_batch": offline_gain,
        "served_gain": served_gain,
        "served_gain_per_cpu_second": cpu_off / cpu_on if cpu_on else 0.0,
        "share_of_offline_gain": realised,
        "run_share": share,
        "served_gain_bound_at_that_batch": bound_here,
        "served_gain_bound": bound,
        "share_of_bound_realised": (
            (served_gain - 1) / (bound_here - 1) if bound_here > 1 else float("nan")
        ),
        "runs": {"without": runs[False], "with": runs[True]},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="per served measurement")
    parser.add_argument("--offline_seconds", type=float, default=8.0, help="per model's curve")
    parser.add_argument("--rounds", type=int, default=2, help="served runs, alternating")
    parser.add_argument("--models", default="mnist,cnn")
    parser.add_argument("--encodings", default=",".join(ENCODINGS))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    flags = modelship_flags()
    infos = models.prepare(WORK, HERE.parent)
    report: dict[str, Any] = {}
    for name in args.models.split(","):
        model = infos[name]
        curve = offline_curve(model, args.offline_seconds)
        entry: dict[str, Any] = {
            "offline_rows_per_s": curve,
            "offline_gain_by_batch": {b: curve[b] / curve[1] for b in BATCHES},
            "run_seconds_per_row_b1": 1 / curve[1],
            "encodings": {},
        }
        report[name] = entry
        print(
            f"{name}: offline rows/s {', '.join(f'b{b} {r:,.0f}' for b, r in curve.items())}",
            flush=True,
        )
        for encoding in args.encodings.split(","):
            runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
            for _ in range(args.rounds):
                for batching in (False, True):
                    runs[batching].append(served(model, encoding, batching, args.seconds, flags))
            found = entry["encodings"][encoding] = figures(curve, runs)
            if "encoding" not in entry:
                entry["encoding"] = encoding
                entry.update({k: v for k, v in found.items() if k != "runs"})
            print(
                f"  {encoding}: {found['served_rps_without']:,.0f} -> "
                f"{found['served_rps_with']:,.0f} req/s with batching (mean batch "
                f"{found['mean_batch_formed']:.1f}): gain {found['served_gain']:.2f}x "
                f"(per CPU-s {found['served_gain_per_cpu_second']:.2f}x) of "
                f"{found['offline_gain_at_that_batch']:.2f}x offline = "
                f"{found['share_of_offline_gain']:.0%}; run share {found['run_share']:.1%}, "
                f"bound {found['served_gain_bound_at_that_batch']:.2f}x at that batch, "
                f"{found['served_gain_bound']:.2f}x at most",
                flush=True,
            )
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
