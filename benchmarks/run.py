"""``make bench``: serve the same ONNX models with modelship and its peers, load them with wrk.

Targets alternate in rounds (A B C A B C ...), each started fresh, probed, warmed up, then
measured at every connection count while psutil meters its process tree's CPU. Medians over
rounds go to ``benchmarks/results/`` (results.json, README.md, plot.png).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import numpy as np

from benchmarks import correctness, h2load, models, payloads, pyload, report, wrk
from benchmarks.scenarios import Case, Scenario, scenarios, with_baseline_cases
from benchmarks.targets import CpuMeter, Server, Target, TargetSkipped, export_baseline, targets

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"


def _inputs(scenario: Scenario, model: models.ModelInfo) -> tuple[np.ndarray, bytes | None]:
    if scenario.data == "image":
        return payloads.image()
    return payloads.instances(model.input_shape), None


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
    expected = correctness.expected_outputs(model.path, array) if array.ndim == 2 else None
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
    if expected is not None and case.target != "raw-echo":
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
            print(f"[{scenario.name} w={workers} round {round_no + 1}] {target_name}", flush=True)
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
    duration = max(args.duration, scenario.min_duration)
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--quick", action="store_true", help="3 s runs, shorter warmup")
    parser.add_argument("--rounds", type=int, default=2, help="A B C rounds; medians reported")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--scenarios", default="", help="comma-separated names (default: all)")
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
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the server being measured is stopped on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.report_only:
        report.Book.load(args.out).write()
        return
    if args.quick:
        args.duration = 3.0
    args.warmup = 1.0 if args.quick else 2.0
    wrk.ensure_wrk()
    baseline = export_baseline(args.baseline, WORK) if args.baseline else None
    infos = models.prepare(WORK, HERE.parent)
    wanted = {s for s in args.scenarios.split(",") if s}
    book = report.Book(args.out, vars(args))
    if args.append and (args.out / "results.json").exists():
        book = report.Book.load(args.out)
        appended = book.meta.setdefault("appended", [])
        appended.append(report.Book(args.out, vars(args)).meta)
    for workers in (int(w) for w in args.workers.split(",")):
        table = targets(workers, baseline)
        for scenario in scenarios(workers):
            if wanted and scenario.name not in wanted:
                continue
            if baseline is not None:
                scenario = with_baseline_cases(scenario, args.baseline)
            book.forget(scenario.name, workers)
            _run_scenario(scenario, workers, table, infos, args, book)
            book.write()
    print(f"results in {args.out}")


if __name__ == "__main__":
    main()
