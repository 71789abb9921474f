"""gRPC vs REST predict throughput of one modelship server, from one Python load generator.

The MNIST MLP (784 floats in, 10 out; one instance per request unless ``--instances``) is
served by a real ``modelship serve`` process with both APIs on. For each concurrency, N asyncio
callers send requests back to back for a fixed time through TF Serving's two APIs:

- REST: ``POST /v1/models/mnist:predict`` with ``{"instances": [[...784 floats...]]}``, over N
  keep-alive HTTP/1.1 connections (aiohttp), answers parsed with orjson;
- gRPC: ``tensorflow.serving.PredictionService/Predict`` with the input in ``tensor_content``
  (what ``tf.make_tensor_proto`` sends), N calls in flight over grpc.aio channels, answers parsed
  into ``PredictResponse``.

Both bodies are built once; both answers are decoded, so the client's work is alike. Rounds
alternate REST and gRPC (A B A B) and the medians are reported with their ratio: on a shared
machine only ratios measured in one run mean anything. Beside req/s, requests per CPU-second of
the server process say what each protocol costs the server, which the client and other load on
a small machine disturb less. Usage::

    .venv/bin/python benchmarks/grpc_vs_rest.py [--concurrency 16 64] [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import numpy as np
import orjson
import psutil

from benchmarks.models import build_mlp
from benchmarks.targets import free_port
from modelship.protos import tfs_prediction_service_pb2 as pb

PREDICT = "/tensorflow.serving.PredictionService/Predict"
DT_FLOAT = 1


def _rest_body(rows: np.ndarray) -> bytes:
    return orjson.dumps({"instances": rows.tolist()})


def _grpc_body(rows: np.ndarray) -> bytes:
    request = pb.PredictRequest()
    request.model_spec.name = "mnist"
    tensor = request.inputs["images"]
    tensor.dtype = DT_FLOAT
    tensor.tensor_shape.dim.add(size=rows.shape[0])
    tensor.tensor_shape.dim.add(size=rows.shape[1])
    tensor.tensor_content = rows.astype("<f4").tobytes()
    return request.SerializeToString()


async def _drive(call: Callable[[], Awaitable[bool]], callers: int, seconds: float) -> float:
    """Requests per second of ``callers`` tasks calling back to back; failures abort."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def caller() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            if not await call():
                raise RuntimeError("a request failed; is the server healthy?")
            done += 1

    began = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    return done / (time.perf_counter() - began)


async def rest_rps(url: str, body: bytes, callers: int, seconds: float) -> float:
    import aiohttp

    endpoint = f"{url}/v1/models/mnist:predict"
    connector = aiohttp.TCPConnector(limit=callers)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def call() -> bool:
            async with session.post(endpoint, data=body) as answer:
                payload = await answer.read()
                return answer.status == 200 and bool(orjson.loads(payload)["predictions"])

        return await _drive(call, callers, seconds)


async def grpc_rps(target: str, body: bytes, callers: int, seconds: float, channels: int) -> float:
    import grpc

    opened = [grpc.aio.insecure_channel(target) for _ in range(channels)]
    try:
        methods = [
            channel.unary_unary(
                PREDICT,
                request_serializer=lambda raw: raw,  # the request is serialized once, up front
                response_deserializer=pb.PredictResponse.FromString,
            )
            for channel in opened
        ]
        turn = 0

        async def call() -> bool:
            nonlocal turn
            turn += 1
            answer = await methods[turn % channels](body, timeout=30)
            return len(answer.outputs["probabilities"].float_val) > 0

        return await _drive(call, callers, seconds)
    finally:
        for channel in opened:
            await channel.close()


def _serve(
    repo: Path, rest_port: int, grpc_port: int, workers: int, log: Path
) -> subprocess.Popen[bytes]:
    command = [
        str(Path(sys.executable).parent / "modelship"),
        "serve",
        "--model_name=mnist",
        f"--model_base_path={repo}",
        f"--rest_api_port={rest_port}",
        "--rest_api_host=127.0.0.1",
        f"--port={grpc_port}",
        "--grpc_host=127.0.0.1",
        f"--workers={workers}",
        "--log_level=warning",
    ]
    process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"modelship serve exited:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{rest_port}/v1/models/mnist", timeout=1).is_success:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"modelship serve not ready:\n{log.read_text()}")


def _cpu_seconds(process: psutil.Process) -> float:
    """CPU seconds of the server's process tree (its workers, when it has several)."""
    total = 0.0
    for proc in [process, *process.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _measure(
    server: psutil.Process, run: Callable[[], Coroutine[Any, Any, float]], seconds: float
) -> tuple[float, float]:
    """(req/s, requests per server CPU-second) of one measurement."""
    before = _cpu_seconds(server)
    rps = asyncio.run(run())
    used = _cpu_seconds(server) - before
    return rps, rps * seconds / used if used > 0 else float("nan")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="A B rounds per concurrency")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--instances", type=int, default=1, help="instances per request")
    parser.add_argument(
        "--channels",
        type=int,
        default=0,
        help="gRPC channels, one HTTP/2 connection each (default: one per worker, since the "
        "kernel spreads connections, not calls, over workers)",
    )
    args = parser.parse_args(argv)
    channels = args.channels or args.workers

    with tempfile.TemporaryDirectory(prefix="grpc-vs-rest-") as scratch:
        repo = Path(scratch) / "mnist"
        (repo / "1").mkdir(parents=True)
        build_mlp(repo / "1" / "model.onnx")
        rest_port, grpc_port = free_port(), free_port()
        server = _serve(repo, rest_port, grpc_port, args.workers, Path(scratch) / "server.log")
        rows = np.random.default_rng(0).random((args.instances, 784), dtype=np.float32)
        rest_body, grpc_body = _rest_body(rows), _grpc_body(rows)
        url, target = f"http://127.0.0.1:{rest_port}", f"127.0.0.1:{grpc_port}"
        try:
            # Warm both paths (connections, onnxruntime's first runs) before measuring.
            asyncio.run(rest_rps(url, rest_body, 4, 1.0))
            asyncio.run(grpc_rps(target, grpc_body, 4, 1.0, channels))
            meter = psutil.Process(server.pid)
            print(
                f"{'callers':>8} {'REST req/s':>11} {'gRPC req/s':>11} {'ratio':>6}"
                f" {'REST req/cpu-s':>15} {'gRPC req/cpu-s':>15} {'ratio':>6}"
            )
            for callers in args.concurrency:
                rest_run = functools.partial(rest_rps, url, rest_body, callers, args.seconds)
                grpc_run = functools.partial(
                    grpc_rps, target, grpc_body, callers, args.seconds, channels
                )
                rest, grpc_ = [], []
                for _ in range(args.rounds):
                    rest.append(_measure(meter, rest_run, args.seconds))
                    grpc_.append(_measure(meter, grpc_run, args.seconds))
                r, g = (
                    statistics.median(x[0] for x in rest),
                    statistics.median(x[0] for x in grpc_),
                )
                rc, gc = (
                    statistics.median(x[1] for x in rest),
                    statistics.median(x[1] for x in grpc_),
                )
                print(
                    f"{callers:>8} {r:>11.0f} {g:>11.0f} {g / r:>5.2f}x"
                    f" {rc:>15.0f} {gc:>15.0f} {gc / rc:>5.2f}x"
                )
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
