"""Instructions per request of a whole server process, counted by valgrind's callgrind.

Wall-clock numbers on a shared 2-core machine move by tens of percent between runs; the
instructions a server executes to answer a fixed number of requests repeat to within a
fraction of a percent. This starts a target under ``valgrind --tool=callgrind`` (all threads
together), waits until it is ready, zeroes the counters, sends ``--requests`` requests with
h2load (HTTP/1.1 for REST, HTTP/2 for gRPC), dumps the counters and prints instructions per
request. Counting every thread and the event loop includes the HTTP server, the framework and
the model: the same work that req/CPU-s measures, without the noise. Every process of the server
counts (each writes its own dumps): granian, for one, answers in a worker process it forks.

    .venv/bin/python -m benchmarks.instructions --target modelship --requests 3000
    .venv/bin/python -m benchmarks.instructions --target raw-onnx --requests 3000
    .venv/bin/python -m benchmarks.instructions --target modelship+grpc --encoding grpc-tfs
    .venv/bin/python -m benchmarks.instructions --target modelship --baseline main

Valgrind runs the server 30-80 times slower: a few thousand requests take a minute.

That slowdown would change one decision modelship makes by the clock: a model call estimated
under ``inline_run_micros`` (200 us) runs on the event loop, anything slower on the thread pool.
Under valgrind the MLP's 20-40 us call looks like a millisecond and would take the pool's
hand-off, which a native run never does; so modelship targets run here with the threshold
scaled by the slowdown (``--inline-run-micros``, 10,000 by default; 0 keeps the server's own).
A baseline commit older than the setting ignores it.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import h2load, models, payloads, pyload
from benchmarks.targets import Server, export_baseline, targets, with_baseline

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
# modelship's 200 us inline threshold times valgrind's slowdown (see the docstring)
INLINE_RUN_MICROS = 10_000.0
_TOTALS = re.compile(r"^(?:totals|summary): (\d+)", re.MULTILINE)


def _valgrind(out: Path, extra: tuple[str, ...] = ()) -> list[str]:
    return [
        "valgrind",
        *extra,
        "--tool=callgrind",
        "--trace-children=yes",
        # one file per process: forked workers and exec'd children keep their own counts
        f"--callgrind-out-file={out}.%p",
        "--dump-line=no",
        "--compress-strings=no",
    ]


def _control(server: Server, flag: str) -> None:
    """``callgrind_control flag`` on every process of the server."""
    for process in server.processes():
        done = subprocess.run(["callgrind_control", flag, str(process.pid)], capture_output=True)
        if done.returncode and process.pid == server.process.pid:
            raise RuntimeError(f"callgrind_control {flag} failed: {done.stderr.decode()}")


def _read_total(out: Path, pid: int) -> int:
    """Instructions in the dumps written after the zeroing (every process's, every thread's)."""
    total = 0
    for dump in out.parent.glob(f"{out.name}*"):
        text = dump.read_text(errors="replace")
        if "trigger: Program termination" in text or "Initialization" in text:
            continue
        found = _TOTALS.search(text)
        if found:
            total += int(found.group(1))
    if not total:
        raise RuntimeError(f"no callgrind dump of pid {pid} under {out.parent}")
    return total


def _load(
    server: Server, encoding: str, model: models.ModelInfo, requests: int, connections: int
) -> None:
    array = payloads.instances(model.input_shape, count=1)
    h2 = h2load.ensure_h2load()
    scratch = WORK / "instructions"
    scratch.mkdir(parents=True, exist_ok=True)
    body = scratch / "body.bin"
    if encoding.startswith("grpc"):
        call = payloads.grpc_call(encoding, model.name, model.input_name, array)
        reply = pyload.grpc_raw_call(f"127.0.0.1:{server.grpc_port}", call)
        body.write_bytes(h2load.grpc_frame(call.message))
        url = f"http://127.0.0.1:{server.grpc_port}{call.path}"
        headers = ["--header=content-type: application/grpc", "--header=te: trailers"]
        proto: list[str] = [f"--max-concurrent-streams={8}"]
        clients = max(1, connections // 8)
        del reply
    else:
        payload = payloads.make(encoding, model.name, model.input_name, array)
        body.write_bytes(payload.body)
        url = server.url + payload.path
        headers = [f"--header=content-type: {payload.content_type}"]
        proto = ["--h1"]
        clients = connections
    command = [
        h2,
        *proto,
        f"--clients={clients}",
        "--threads=1",
        f"--requests={requests}",
        f"--data={body}",
        *headers,
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    ok = re.search(r"(\d+) succeeded, (\d+) failed", done.stdout)
    status = re.search(r"status codes: (\d+) 2xx", done.stdout)
    if done.returncode or not ok or not status or int(status.group(1)) != requests:
        raise RuntimeError(f"h2load did not get {requests} answers:\n{done.stdout}{done.stderr}")


def count(
    target_name: str,
    encoding: str,
    requests: int,
    connections: int,
    baseline: Path | None = None,
    inline_run_micros: float = INLINE_RUN_MICROS,
) -> float:
    """Instructions per request of ``target_name`` answering ``requests`` requests."""
    infos = models.prepare(WORK, HERE.parent)
    model = infos["mnist"]
    target = targets(1)[target_name]
    if target.family == "modelship" and inline_run_micros:
        env = {**target.env, "MODELSHIP_INLINE_RUN_MICROS": str(inline_run_micros)}
        target = dataclasses.replace(target, env=env)
    if baseline is not None:
        target = with_baseline(target, baseline)
    out = WORK / "instructions" / f"callgrind.{target.name}.{time.time_ns()}"
    out.parent.mkdir(parents=True, exist_ok=True)
    original = target.command

    def under_valgrind(launch):  # type: ignore[no-untyped-def]
        return [*_valgrind(out, target.valgrind), *original(launch)]

    target = dataclasses.replace(target, command=under_valgrind)
    server = Server(target, model, WORK / "logs")
    try:
        server.wait_ready(timeout=600)
        # warm-up: first calls compile, allocate and fill caches
        _load(server, encoding, model, min(200, requests), connections)
        _control(server, "-z")
        _load(server, encoding, model, requests, connections)
        _control(server, "-d")
        time.sleep(1.0)
        return _read_total(out, server.process.pid) / requests
    finally:
        server.stop()
        for dump in out.parent.glob(f"{out.name}*"):
            dump.unlink()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", default="modelship")
    parser.add_argument("--encoding", default="tfs", help="tfs | v2 | grpc-v2 | grpc-tfs")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--baseline", default="", metavar="GIT_REF")
    parser.add_argument(
        "--inline-run-micros",
        type=float,
        default=INLINE_RUN_MICROS,
        help="modelship's inline threshold under valgrind (0: the server's own)",
    )
    args = parser.parse_args(argv)
    runs: list[tuple[str, Path | None]] = [("", None)]
    if args.baseline:
        runs.append((f" @{args.baseline}", export_baseline(args.baseline, WORK)))
    for suffix, source in runs:
        per = count(
            args.target,
            args.encoding,
            args.requests,
            args.connections,
            source,
            args.inline_run_micros,
        )
        print(f"{args.target}{suffix} {args.encoding}: {per:,.0f} instructions/request")


if __name__ == "__main__":
    main()
