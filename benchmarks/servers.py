"""A server under test: its configuration, its process, its readiness and its CPU use."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from benchmarks.models import ModelInfo

__all__ = ["PEERS", "ROOT", "CpuMeter", "Launch", "Server", "Target", "TargetSkipped", "free_port"]

ROOT = Path(__file__).resolve().parents[1]
PEERS = Path(__file__).resolve().parent / "peers"


@dataclass(frozen=True)
class Launch:
    """Where one server instance runs: its model, ports and a scratch directory."""

    model: ModelInfo
    port: int
    grpc_port: int
    scratch: Path


class TargetSkipped(Exception):
    """This target cannot run here (a flag or a protocol it lacks); the message says why."""


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Target:
    """One server configuration; :meth:`command` builds its command line for a model."""

    name: str
    family: str  # modelship | raw | mlserver | litserve | kserve | bentoml | triton
    protocol: str  # native request shape: tfs | v2 | litserve | grpc (gRPC only, no HTTP)
    command: Callable[[Launch], list[str]]
    ready_path: Callable[[ModelInfo], str]
    ready_check: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200
    env: dict[str, str] = field(default_factory=dict)
    grpc: bool = False  # the command also opens a gRPC port (``Launch.grpc_port``)
    valgrind: tuple[str, ...] = ()  # options benchmarks/instructions.py adds for this server


class Server:
    """A running target: started in its own session, stopped with its whole process group."""

    def __init__(self, target: Target, model: ModelInfo, logs: Path) -> None:
        self.target = target
        self.model = model
        self.port = free_port()
        self.grpc_port = free_port() if target.grpc else 0
        logs.mkdir(parents=True, exist_ok=True)
        self.log_path = logs / f"{target.name}-{model.name}.log"
        scratch = logs / f"{target.name}-{model.name}"
        scratch.mkdir(exist_ok=True)
        env = {**os.environ, **target.env, "BENCH_MODEL": str(model.path.resolve())}
        command = target.command(Launch(model, self.port, self.grpc_port, scratch))
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=ROOT,
                start_new_session=True,
            )
        self.url = f"http://127.0.0.1:{self.port}"
        # size of one framed gRPC answer, learnt by the probe; h2load counts failures with it
        self.answer_bytes = 0

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Poll the readiness path until it says yes; raise with the log's tail otherwise."""
        deadline = time.monotonic() + timeout
        path = self.target.ready_path(self.model)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.target.name} exited: {self.log_tail()}")
            if self.target.protocol == "grpc":  # no HTTP side: ready once it accepts
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", self.grpc_port), timeout=1),
                ):
                    return
                time.sleep(0.3)
                continue
            try:
                if self.target.ready_check(httpx.get(self.url + path, timeout=2)):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.target.name} not ready after {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def processes(self) -> list[psutil.Process]:
        """The server's process and all its descendants (workers, inference pools)."""
        try:
            parent = psutil.Process(self.process.pid)
            return [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def wait_idle(self, busy_percent: float = 5.0, timeout: float = 30.0) -> None:
        """Wait until the server stops computing, e.g. requests a finished wrk left queued.

        A server keeps working on requests whose client hung up; measuring the next run on
        top of that backlog would charge it to the wrong configuration.
        """
        meter = CpuMeter(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            meter.start()
            time.sleep(0.5)
            if meter.stop() < busy_percent:
                return

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


class CpuMeter:
    """CPU seconds used by a server's process tree between :meth:`start` and :meth:`stop`."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self._before: dict[int, float] = {}
        self._t0 = 0.0

    @staticmethod
    def _sample(processes: list[psutil.Process]) -> dict[int, float]:
        times = {}
        for proc in processes:
            try:
                cpu = proc.cpu_times()
                times[proc.pid] = cpu.user + cpu.system
            except psutil.NoSuchProcess:
                continue
        return times

    def start(self) -> None:
        self._before = self._sample(self.server.processes())
        self._t0 = time.monotonic()

    def stop(self) -> float:
        """CPU use in percent of one core (200 % = both cores of this machine)."""
        after = self._sample(self.server.processes())
        wall = time.monotonic() - self._t0
        used = sum(t - self._before.get(pid, 0.0) for pid, t in after.items())
        return 100.0 * used / wall if wall > 0 else 0.0
