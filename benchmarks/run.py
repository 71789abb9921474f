"""``make bench``: serve the same ONNX models with modelship and its peers, load them with wrk
(REST) and h2load (gRPC), then run the measurements beside the tables (``extras.py``:
instructions per request, batching curves, version swaps) and judge the speed targets
(``goals.py``).

Targets alternate in rounds (A B C A B C ...), each started fresh, probed, warmed up, then
measured at every connection count while psutil meters its process tree's CPU. Medians over
rounds go to ``benchmarks/results/`` (results.json, README.md with the targets on top,
plot.png, batching.png, scenarios.png).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import numpy as np

from benchmarks import budget, correctness, extras, h2load, models, payloads, pyload, report, wrk
from benchmarks.peers import install
from benchmarks.scenarios import Case, Scenario, scenarios, with_baseline_cases
from benchmarks.targets import CpuMeter, Server, Target, TargetSkipped, export_baseline, targets

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"


def _inputs(scenario: Scenario, model: models.ModelInfo) -> tuple[np.ndarray, bytes | None]:
    if scenario.data == "image":
        return payloads.image()
    return payloads.instances(model.input_shape, count=scenario.rows), None


def _measure(
    case: Case,
    server: Server,
    model: models.ModelInfo,
    array: np.ndarray,
    payload: payloads.Payload | None,
    connections: int,
    duration: float,
) -> wrk.WrkResult:
    if case.loadgen == "h2load":
        call = payloads.grpc_call(case.encoding, model.name, model.input_name, array)
        streams = min(case.streams, connections)
        return h2load.run(
            f"http://127.0.0.1:{server.grpc_port}{call.path}",
            h2load.grpc_frame(call.message),
            server.answer_bytes,
            WORK / "h2load",
            max(1, connections // streams),
            streams,
            duration,
        )
    if case.encoding == "grpc-v2":
        address = f"127.0.0.1:{server.grpc_port}"
        return pyload.grpc_infer(
            address, model.name, model.input_name, array, connections, duration
        )
    assert payload is not None
    if case.loadgen == "python":
        return pyload.rest_post(server.url, payload, connections, duration)
    return wrk.run(server.url, payload, WORK / "wrk", connections, duration)


def _probe(
    case: Case,
    server: Server,
    model: models.ModelInfo,
    array: np.ndarray,
    payload: payloads.Payload | None,
) -> str | None:
    """None when the server answers this encoding with the model's outputs, else why not."""
    # the numbers are checked where the input is the array itself (not a JPEG of it)
    expected = None
    if case.encoding != "tfs-b64":
        expected = correctness.expected_outputs(model.path, array)
    if case.loadgen == "h2load":
        call = payloads.grpc_call(case.encoding, model.name, model.input_name, array)
        try:
            reply = pyload.grpc_raw_call(f"127.0.0.1:{server.grpc_port}", call)
        except Exception as exc:  # grpc.RpcError and friends: the reason is the message
            return f"probe failed: {str(exc)[:200]}"
        server.answer_bytes = len(h2load.grpc_frame(reply))
        if expected is not None and server.target.family != "raw":  # raw: fixed answers
            return correctness.mismatch(case.encoding, reply, expected)
        return None
    if case.encoding == "grpc-v2" or case.loadgen == "python":
        result = _measure(case, server, model, array, payload, 1, 0.3)
        return None if result.requests and not result.errors else "the probe request failed"
    assert payload is not None
    headers = {"Content-Type": payload.content_type, **payload.headers}
    try:
        answer = httpx.post(
            server.url + payload.path, content=payload.body, headers=headers, timeout=30
        )
    except httpx.HTTPError as exc:
        return f"probe failed: {exc}"
    if answer.status_code != 200:
        return f"HTTP {answer.status_code}: {answer.text[:160]}"
    if expected is not None and not case.target.startswith("raw-echo"):
        return correctness.mismatch(case.encoding, answer.content, expected)
    return None


def _run_scenario(
    scenario: Scenario,
    workers: int,
    table: dict[str, Target],
    infos: dict[str, models.ModelInfo],
    args: argparse.Namespace,
    book: report.Book,
) -> None:
    model = infos[scenario.model]
    array, jpeg = _inputs(scenario, model)
    groups: dict[str, list[Case]] = {}
    only = {t for t in args.targets.split(",") if t}
    for case in scenario.cases:
        if only and case.target not in only and case.target.removesuffix("@base") not in only:
            continue
        groups.setdefault(case.target, []).append(case)
    skipped: dict[str, str] = {}
    for round_no in range(args.rounds):
        for target_name, cases in groups.items():
            live = [c for c in cases if c.label not in skipped]
            if not live:
                continue
            target = table.get(target_name)
            if target is None:
                for c in live:
                    skipped[c.label] = f"no target {target_name} with {workers} workers"
                continue
            print(
                f"{time.strftime('%H:%M:%S')} [{scenario.name} w={workers} round {round_no + 1}] "
                f"{target_name}",
                flush=True,
            )
            try:
                server = Server(target, model, WORK / "logs")
            except TargetSkipped as exc:
                for c in live:
                    skipped[c.label] = str(exc)
                continue
            try:
                server.wait_ready()
                for case in live:
                    _run_case(
                        case,
                        scenario,
                        server,
                        model,
                        array,
                        jpeg,
                        workers,
                        round_no,
                        args,
                        book,
                        skipped,
                    )
            except RuntimeError as exc:
                print(f"  failed: {exc}", flush=True)
                for c in live:
                    skipped.setdefault(c.label, f"server failed: {str(exc)[:200]}")
            finally:
                server.stop()
    for label, why in skipped.items():
        book.skip(scenario.name, workers, label, why)


def _run_case(
    case: Case,
    scenario: Scenario,
    server: Server,
    model: models.ModelInfo,
    array: np.ndarray,
    jpeg: bytes | None,
    workers: int,
    round_no: int,
    args: argparse.Namespace,
    book: report.Book,
    skipped: dict[str, str],
) -> None:
    payload = None
    if not case.encoding.startswith("grpc"):
        payload = payloads.make(case.encoding, model.name, model.input_name, array, jpeg)
    why = _probe(case, server, model, array, payload)
    if why is not None:
        print(f"  {case.label}: skipped ({why})", flush=True)
        skipped[case.label] = why
        return
    # few connections: a warm-up must not leave a backlog of queued requests behind
    _measure(case, server, model, array, payload, min(4, max(scenario.connections)), args.warmup)
    duration = args.secondary_duration if scenario.secondary else args.duration
    duration = max(duration, scenario.min_duration)
    for connections in scenario.connections:
        server.wait_idle()
        meter = CpuMeter(server)
        meter.start()
        result = _measure(case, server, model, array, payload, connections, duration)
        cpu = meter.stop()
        print(
            f"  {case.label:40s} c={connections:3d} {result.rps:9.1f} req/s "
            f"p50 {result.p50_ms:7.2f} ms p99 {result.p99_ms:7.2f} ms "
            f"err {result.errors} cpu {cpu:5.0f}%",
            flush=True,
        )
        book.add(scenario, case, workers, round_no, connections, result, cpu)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument(
        "--secondary-duration",
        type=float,
        default=5.0,
        help="seconds per run in the secondary scenarios (batches, images, encodings)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="3 s runs, short extras: checks the plumbing"
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="also 1 and 16 connections, the one-thread rows, the Python-client gRPC "
        "scenario and 2 workers (about twice as long)",
    )
    parser.add_argument("--rounds", type=int, default=2, help="A B C rounds; medians reported")
    parser.add_argument("--workers", default="", help="comma-separated worker counts (1)")
    parser.add_argument(
        "--scenarios",
        default="",
        help="comma-separated scenario or extra names (default: all): "
        + ", ".join(s.name for s in scenarios(1, full=True))
        + ", "
        + ", ".join(extras.EXTRAS),
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument(
        "--append",
        action="store_true",
        help="keep the other scenarios of an earlier results.json, replace the ones run now",
    )
    parser.add_argument(
        "--targets",
        default="",
        help="comma-separated target names to run (default: all of each scenario's)",
    )
    parser.add_argument(
        "--baseline",
        default="",
        metavar="GIT_REF",
        help="A/B: also run every modelship row with the code of this commit (e.g. main), "
        "alternating with the working tree's in each round",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the tables and plot from results.json"
    )
    return parser


def _plan(args: argparse.Namespace) -> tuple[list[tuple[int, Scenario]], list[extras.Extra]]:
    """The (workers, scenario) pairs and the extras this run measures, in order."""
    wanted = {s for s in args.scenarios.split(",") if s}
    unknown = wanted - {s.name for s in scenarios(1, full=True)} - set(extras.EXTRAS)
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    pairs = [
        (workers, scenario)
        for workers in args.worker_counts
        for scenario in scenarios(workers, full=args.full)
        if not wanted or scenario.name in wanted
    ]
    # the extras measure modelship itself: an A/B or a filtered run asks for them by name
    plain = not wanted and not args.targets and not args.baseline
    chosen = [e for name, e in extras.EXTRAS.items() if name in wanted or plain]
    return pairs, chosen


def _peers(args: argparse.Namespace, pairs: list[tuple[int, Scenario]]) -> list[str]:
    return budget.peer_environments(
        (s for _, s in pairs), [t for t in args.targets.split(",") if t]
    )


def _estimate(
    args: argparse.Namespace, pairs: list[tuple[int, Scenario]], chosen: list[extras.Extra]
) -> None:
    only = [t for t in args.targets.split(",") if t]
    parts = {
        f"{s.name} ({w} worker{'s' if w > 1 else ''})": budget.scenario_seconds(
            s, args.rounds, args.secondary_duration if s.secondary else args.duration, only
        )
        for w, s in pairs
    }
    parts.update({e.name: e.estimate_seconds(args.quick) for e in chosen})
    peers = [p for p in _peers(args, pairs) if not install.installed(p)]
    if peers:
        # installed three at a time: about the slowest of each group of three
        parts["peer installs (first run only)"] = sum(
            sorted((budget.PEER_INSTALL_SECONDS[p] for p in peers), reverse=True)[::3]
        )
    total = sum(parts.values())
    print(
        f"estimated time: {total / 60:.0f} min ("
        + ", ".join(f"{name} {seconds / 60:.1f}" for name, seconds in parts.items())
        + ")",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the server being measured is stopped on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.report_only:
        report.Book.load(args.out).write()
        return
    started = time.monotonic()
    if args.quick:
        args.duration = args.secondary_duration = 3.0
    args.warmup = 1.0 if args.quick else 2.0
    args.worker_counts = [
        int(w) for w in (args.workers or ("1,2" if args.full else "1")).split(",")
    ]
    pairs, chosen = _plan(args)
    _estimate(args, pairs, chosen)
    wrk.ensure_wrk()
    if any(c.loadgen == "h2load" for _, s in pairs for c in s.cases):
        h2load.ensure_h2load()
    if pairs:
        # before any measurement: pip and the servers must not share the cores
        for name, outcome in install.ensure_peers(tuple(_peers(args, pairs))).items():
            print(f"peer {name}: {outcome}", flush=True)
    baseline = export_baseline(args.baseline, WORK) if args.baseline else None
    infos = models.prepare(WORK, HERE.parent)
    book = report.Book(args.out, vars(args))
    if args.append and (args.out / "results.json").exists():
        book = report.Book.load(args.out)
        appended = book.meta.setdefault("appended", [])
        appended.append(report.Book(args.out, vars(args)).meta)
    tables: dict[int, dict[str, Target]] = {}
    for workers, scenario in pairs:
        table = tables.setdefault(workers, targets(workers, baseline))
        if baseline is not None:
            scenario = with_baseline_cases(scenario, args.baseline)
        book.forget(scenario.name, workers)
        _run_scenario(scenario, workers, table, infos, args, book)
        book.write()
    for extra in chosen:
        book.extras[extra.name] = extras.run_extra(extra, WORK, args.quick)
        book.write()
    if not args.append:
        book.meta["elapsed_seconds"] = round(time.monotonic() - started)
    book.write()
    print(f"results in {args.out} after {(time.monotonic() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
