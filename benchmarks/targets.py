"""The servers under test: how to start each one, when it is ready, what it speaks.

Every target serves the same ONNX file with the same number of workers. The modelship command
line is built in one place (:data:`MODELSHIP_SERVE`); flags it does not know yet make the
target skip with a message rather than fail the run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from benchmarks.models import ModelInfo
from benchmarks.peers.install import ensure_peer

__all__ = [
    "MODELSHIP_SERVE",
    "Server",
    "Target",
    "TargetSkipped",
    "export_baseline",
    "free_port",
    "targets",
    "with_baseline",
]

ROOT = Path(__file__).resolve().parents[1]
PEERS = Path(__file__).resolve().parent / "peers"

# The modelship command line: {model}, {base}, {port} are filled in; the options a target adds
# (workers, batching) follow. Edit here when the flags change.
MODELSHIP_SERVE = [
    str(ROOT / ".venv" / "bin" / "modelship"),
    "serve",
    "--model_name={model}",
    "--model_base_path={base}",
    "--rest_api_port={port}",
    "--log_level=warning",
]
# Options added only when ``serve --help`` lists them (REST-only runs turn gRPC off).
MODELSHIP_OPTIONAL = {"--port": "--port=0"}
# Under valgrind's default scheduler a granian server answering fixed replies can stall for
# good (its Rust threads and the Python thread wait on each other); the fair one does not.
GRANIAN_VALGRIND = ("--fair-sched=yes",)


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


def modelship_flags() -> set[str]:
    """The long options ``modelship serve --help`` lists (empty if the command is missing)."""
    try:
        done = subprocess.run(
            [MODELSHIP_SERVE[0], "serve", "--help"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"},
        )
    except FileNotFoundError:
        return set()
    words = done.stdout.replace(",", " ").split()
    return {w.strip("│ ") for w in words if w.strip("│ ").startswith("--")}


def _batching_file(scratch: Path, max_batch_size: int, timeout_micros: int) -> Path:
    path = scratch / "batching.txt"
    path.write_text(
        f"max_batch_size {{ value: {max_batch_size} }}\n"
        f"batch_timeout_micros {{ value: {timeout_micros} }}\n"
        "num_batch_threads { value: 2 }\n"
        "max_enqueued_batches { value: 1000 }\n"
    )
    return path


def _modelship(
    workers: int,
    batching: bool,
    grpc: bool,
    flags: set[str],
    threads: int = 0,
    http_server: str = "",
) -> Target:
    needed = []
    if http_server:
        needed.append("--http_server")
    if workers > 1:
        needed.append("--workers")
    if batching:
        needed += ["--enable_batching", "--batching_parameters_file"]
    if grpc:
        needed.append("--port")
    if threads:
        needed.append("--intra_op_threads")
    missing = [f for f in needed if f not in flags]

    def command(launch: Launch) -> list[str]:
        model, port, scratch = launch.model, launch.port, launch.scratch
        if missing:
            raise TargetSkipped(f"modelship serve has no {', '.join(missing)} yet")
        base = model.path.parent.parent
        line = [a.format(model=model.name, base=base, port=port) for a in MODELSHIP_SERVE]
        if "--workers" in flags or workers > 1:
            # always explicit: modelship's own default is one worker per core
            line.append(f"--workers={workers}")
        if threads:
            line.append(f"--intra_op_threads={threads}")
        if http_server:
            line.append(f"--http_server={http_server}")
        if batching:
            path = _batching_file(scratch, 32, 2000)
            line += ["--enable_batching", f"--batching_parameters_file={path}"]
        if grpc:
            line.append(f"--port={launch.grpc_port}")
        else:
            line += [v for k, v in MODELSHIP_OPTIONAL.items() if k in flags]
        return line

    def available(response: httpx.Response) -> bool:
        if response.status_code != 200:
            return False
        states = response.json().get("model_version_status", [])
        return any(s.get("state") == "AVAILABLE" for s in states)

    name = "modelship" + (f"-{threads}t" if threads else "")
    name += ("+batch" if batching else "") + ("+grpc" if grpc else "")
    name += f"-{http_server}" if http_server else ""
    return Target(
        name,
        "modelship",
        "tfs",
        command,
        lambda m: f"/v1/models/{m.name}",
        available,
        grpc=grpc,
        valgrind=GRANIAN_VALGRIND if http_server == "granian" else (),
    )


def _raw(mode: str, workers: int, threads: int = 0) -> Target:
    def command(launch: Launch) -> list[str]:
        port = launch.port
        return [
            str(ROOT / ".venv" / "bin" / "python"),
            "-m",
            "uvicorn",
            "--app-dir",
            str(PEERS),
            "raw_asgi:app",
            "--host=127.0.0.1",
            f"--port={port}",
            "--loop=uvloop",
            "--http=httptools",
            "--no-access-log",
            "--log-level=warning",
            f"--workers={workers}",
        ]

    env = {"RAW_MODE": mode, "RAW_THREADS": str(threads)}
    name = f"raw-{mode}" + (f"-{threads}t" if threads else "")
    return Target(name, "raw", "tfs", command, lambda m: "/", env=env)


def _raw_granian(mode: str, workers: int, interface: str, threads: int = 0) -> Target:
    """The raw server on granian: its ASGI interface (the same app) or its own RSGI one."""

    def command(launch: Launch) -> list[str]:
        return [
            str(ROOT / ".venv" / "bin" / "granian"),
            f"--interface={interface}",
            f"--working-dir={PEERS}",
            "--host=127.0.0.1",
            f"--port={launch.port}",
            "--loop=uvloop",
            "--no-ws",
            "--log-level=warning",
            f"--workers={workers}",
            "raw_asgi:rsgi_app" if interface == "rsgi" else "raw_asgi:app",
        ]

    env = {"RAW_MODE": mode, "RAW_THREADS": str(threads)}
    name = f"raw-{mode}" + (f"-{threads}t" if threads else "") + "-granian"
    name += "-rsgi" if interface == "rsgi" else ""
    return Target(name, "raw", "tfs", command, lambda m: "/", env=env, valgrind=GRANIAN_VALGRIND)


def _raw_grpc(server: str) -> Target:
    def command(launch: Launch) -> list[str]:
        return [
            str(ROOT / ".venv" / "bin" / "python"),
            str(PEERS / "raw_grpc.py"),
            f"--port={launch.grpc_port}",
            f"--server={server}",
        ]

    return Target(f"raw-grpc-{server}", "raw", "grpc", command, lambda m: "", grpc=True)


def _mlserver(workers: int, parallel: int, batching: bool, grpc: bool = False) -> Target:
    def command(launch: Launch) -> list[str]:
        model, port, scratch = launch.model, launch.port, launch.scratch
        python = ensure_peer("mlserver")
        repo = scratch / "repo"
        (repo / model.name).mkdir(parents=True, exist_ok=True)
        grpc_port = launch.grpc_port or free_port()
        settings = {
            "debug": False,
            "host": "127.0.0.1",
            "http_port": port,
            "grpc_port": grpc_port,
            "parallel_workers": parallel,
            "metrics_endpoint": None,  # off: a cost the other servers do not pay either
            "load_models_at_startup": True,
        }
        model_settings: dict[str, object] = {
            "name": model.name,
            "implementation": "mlserver_onnx.runtime.OnnxRuntime",
            "parameters": {"uri": str(model.path.resolve()), "version": "1"},
        }
        if batching:
            model_settings["max_batch_size"] = 32
            model_settings["max_batch_time"] = 0.002
        (repo / "settings.json").write_text(json.dumps(settings))
        (repo / model.name / "model-settings.json").write_text(json.dumps(model_settings))
        return [str(python.parent / "mlserver"), "start", str(repo)]

    name = f"mlserver(pw={parallel})" + ("+batch" if batching else "") + ("+grpc" if grpc else "")
    # the custom runtime is imported by MLServer and by its worker processes
    env = {"PYTHONPATH": str(PEERS)}
    return Target(
        name, "mlserver", "v2", command, lambda m: f"/v2/models/{m.name}/ready", env=env, grpc=grpc
    )


def _litserve(workers: int, batching: bool) -> Target:
    def command(launch: Launch) -> list[str]:
        model, port = launch.model, launch.port
        python = ensure_peer("litserve")
        line = [
            str(python),
            str(PEERS / "litserve_onnx.py"),
            f"--model={model.path.resolve()}",
            f"--port={port}",
            f"--workers={workers}",
        ]
        if batching:
            line += ["--max-batch-size=32", "--batch-timeout=0.002"]
        return line

    name = "litserve" + ("+batch" if batching else "")
    return Target(name, "litserve", "litserve", command, lambda m: "/health")


def _kserve(workers: int, grpc: bool = False) -> Target:
    def command(launch: Launch) -> list[str]:
        python = ensure_peer("kserve")
        return [
            str(python),
            str(PEERS / "kserve_onnx.py"),
            f"--model={launch.model.path.resolve()}",
            f"--name={launch.model.name}",
            f"--http-port={launch.port}",
            f"--grpc-port={launch.grpc_port or free_port()}",
            f"--workers={workers}",
        ]

    # KServe's V1 protocol takes TF Serving's {"instances": ...} on the same path
    name = "kserve" + ("+grpc" if grpc else "")
    return Target(name, "kserve", "tfs", command, lambda m: f"/v1/models/{m.name}", grpc=grpc)


def _bentoml(workers: int) -> Target:
    def command(launch: Launch) -> list[str]:
        python = ensure_peer("bentoml")
        return [
            str(python.parent / "bentoml"),
            "serve",
            "bentoml_onnx:OnnxService",
            "--host=127.0.0.1",
            f"--port={launch.port}",
            f"--working-dir={PEERS}",
        ]

    if workers != 1:  # a BentoML service sets its workers in code; the default is one
        return Target(
            "bentoml", "bentoml", "litserve", _skip("BentoML runs one worker here"), _root
        )
    return Target("bentoml", "bentoml", "litserve", command, lambda m: "/readyz")


def _pytriton(grpc: bool = False) -> Target:
    def command(launch: Launch) -> list[str]:
        python = ensure_peer("pytriton")
        return [
            str(python),
            str(PEERS / "pytriton_onnx.py"),
            f"--model={launch.model.path.resolve()}",
            f"--name={launch.model.name}",
            f"--http-port={launch.port}",
            f"--grpc-port={launch.grpc_port or free_port()}",
            f"--metrics-port={free_port()}",
        ]

    name = "triton" + ("+grpc" if grpc else "")
    # Triton's Python-backend stub links libpython by name; without this it may load the
    # system's copy of another patch release than the interpreter's standard library.
    env = {"LD_LIBRARY_PATH": str(sysconfig.get_config_var("LIBDIR"))}
    ready = lambda m: f"/v2/models/{m.name}/ready"  # noqa: E731
    return Target(name, "triton", "v2", command, ready, env=env, grpc=grpc)


def _torchserve(workers: int, grpc: bool = False) -> Target:
    def command(launch: Launch) -> list[str]:
        python = ensure_peer("torchserve")
        scratch, store = launch.scratch, launch.scratch / "store"
        store.mkdir(exist_ok=True)
        subprocess.run(
            [
                str(python.parent / "torch-model-archiver"),
                f"--model-name={launch.model.name}",
                "--version=1.0",
                f"--serialized-file={launch.model.path.resolve()}",
                f"--handler={PEERS / 'torchserve_handler.py'}",
                f"--export-path={store}",
                "--force",
            ],
            check=True,
        )
        config = scratch / "config.properties"
        config.write_text(
            f"inference_address=http://127.0.0.1:{launch.port}\n"
            f"management_address=http://127.0.0.1:{free_port()}\n"
            f"metrics_address=http://127.0.0.1:{free_port()}\n"
            f"grpc_inference_port={launch.grpc_port or free_port()}\n"
            f"grpc_management_port={free_port()}\n"
            "disable_token_authorization=true\n"
        )
        return [
            str(python.parent / "torchserve"),
            "--start",
            "--foreground",
            "--ncs",
            f"--model-store={store}",
            f"--models={launch.model.name}={launch.model.name}.mar",
            f"--ts-config={config}",
        ]

    def ready(response: httpx.Response) -> bool:
        # "Healthy" once every model has its minimum of workers up ("Partial Healthy" before)
        return response.status_code == 200 and '"Healthy"' in response.text

    # gRPC: TorchServe's own API (InferenceAPIsService/Predictions, see torchserve_grpc.py),
    # not the Open Inference Protocol
    name = "torchserve" + ("+grpc" if grpc else "")
    if workers != 1:
        return Target(name, "torchserve", "torchserve", _skip("one worker only"), _root)
    # its own logs go under .work, not into the working directory (the repository root)
    logs = PEERS.parent / ".work" / "logs" / "torchserve"
    env = {
        "PATH": f"{PEERS.parent / '.peers' / 'torchserve' / 'bin'}:{os.environ['PATH']}",
        "LOG_LOCATION": str(logs),
        "METRICS_LOCATION": str(logs),
    }
    return Target(
        name, "torchserve", "torchserve", command, lambda m: "/ping", ready, env=env, grpc=grpc
    )


def _skip(why: str) -> Callable[[Launch], list[str]]:
    def command(launch: Launch) -> list[str]:
        raise TargetSkipped(why)

    return command


def _root(model: ModelInfo) -> str:
    return "/"


def export_baseline(ref: str, work: Path) -> Path:
    """modelship's source at git ``ref``, exported under ``work`` (once per commit).

    Returns the directory to put first on ``PYTHONPATH``: the project's virtual environment
    then runs that commit's code (the editable install is only a path entry after it).
    """
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    out = work / "baseline" / sha[:12]
    if not (out / "src" / "modelship").is_dir():
        out.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", sha, "src/modelship"], cwd=ROOT, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True)
    return out / "src"


def with_baseline(target: Target, source: Path) -> Target:
    """``target`` running the modelship code under ``source`` (see :func:`export_baseline`)."""
    env = {**target.env, "PYTHONPATH": str(source)}
    return dataclasses.replace(target, name=target.name + "@base", env=env)


def targets(workers: int, baseline: Path | None = None) -> dict[str, Target]:
    """Every configuration the scenarios may use, by name, for ``workers`` workers each.

    With ``baseline`` (an exported source tree), every modelship target also comes as
    ``<name>@base`` running that code, for A/B runs of a change.
    """
    flags = modelship_flags()
    found = [
        _modelship(workers, batching=False, grpc=False, flags=flags),
        _modelship(workers, batching=True, grpc=False, flags=flags),
        _modelship(workers, batching=False, grpc=True, flags=flags),
        _modelship(workers, batching=False, grpc=False, flags=flags, threads=1),
        _modelship(workers, batching=False, grpc=False, flags=flags, http_server="granian"),
        _raw("echo", workers),
        _raw("onnx", workers),
        _raw("onnx", workers, threads=1),
        _raw_granian("echo", workers, "asgi"),
        _raw_granian("echo", workers, "rsgi"),
        _raw_granian("onnx", workers, "asgi"),
        _raw_granian("onnx", workers, "rsgi"),
        _raw_grpc("aio"),
        _raw_grpc("sync"),
        _mlserver(workers, parallel=workers, batching=False),
        _mlserver(workers, parallel=workers, batching=True),
        _litserve(workers, batching=False),
        _litserve(workers, batching=True),
        _mlserver(workers, parallel=workers, batching=False, grpc=True),
        _kserve(workers),
        _kserve(workers, grpc=True),
        _bentoml(workers),
        _pytriton(),
        _pytriton(grpc=True),
        _torchserve(workers),
        _torchserve(workers, grpc=True),
    ]
    if workers == 1:
        # MLServer's other documented setting: inference in the HTTP process itself
        found.append(_mlserver(1, parallel=0, batching=False))
    if baseline is not None:
        found += [with_baseline(t, baseline) for t in found if t.family == "modelship"]
    return {t.name: t for t in found}
