"""The servers under test: how to start each one, when it is ready, what it speaks.

Every target serves the same ONNX file with the same number of workers. The modelship command
line is built in one place (:data:`MODELSHIP_SERVE`); flags it does not know yet make the
target skip with a message rather than fail the run. The peers' command lines are in
:mod:`benchmarks.peer_targets`, running and metering a server in :mod:`benchmarks.servers`.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import httpx

from benchmarks import peer_targets
from benchmarks.servers import (
    PEERS,
    ROOT,
    CpuMeter,
    Launch,
    Server,
    Target,
    TargetSkipped,
    free_port,
)

__all__ = [
    "MODELSHIP_SERVE",
    "CpuMeter",
    "Launch",
    "Server",
    "Target",
    "TargetSkipped",
    "export_baseline",
    "free_port",
    "targets",
    "with_baseline",
]

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
        peer_targets.mlserver(workers, parallel=workers, batching=False),
        peer_targets.mlserver(workers, parallel=workers, batching=True),
        peer_targets.litserve(workers, batching=False),
        peer_targets.litserve(workers, batching=True),
        peer_targets.mlserver(workers, parallel=workers, batching=False, grpc=True),
        peer_targets.kserve(workers),
        peer_targets.kserve(workers, grpc=True),
        peer_targets.bentoml(workers),
        peer_targets.pytriton(),
        peer_targets.pytriton(grpc=True),
        peer_targets.torchserve(workers),
        peer_targets.torchserve(workers, grpc=True),
    ]
    if workers == 1:
        # MLServer's other documented setting: inference in the HTTP process itself
        found.append(peer_targets.mlserver(1, parallel=0, batching=False))
    if baseline is not None:
        found += [with_baseline(t, baseline) for t in found if t.family == "modelship"]
    return {t.name: t for t in found}
