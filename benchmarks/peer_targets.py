"""The other servers of the field as targets: each in its own virtual environment
(:mod:`benchmarks.peers.install`), at its defaults, serving the same ONNX file."""

from __future__ import annotations

import json
import os
import subprocess
import sysconfig
from collections.abc import Callable

import httpx

from benchmarks.models import ModelInfo
from benchmarks.peers.install import ensure_peer
from benchmarks.servers import PEERS, Launch, Target, TargetSkipped, free_port

__all__ = ["bentoml", "kserve", "litserve", "mlserver", "pytriton", "torchserve"]


def mlserver(workers: int, parallel: int, batching: bool, grpc: bool = False) -> Target:
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


def litserve(workers: int, batching: bool) -> Target:
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


def kserve(workers: int, grpc: bool = False) -> Target:
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


def bentoml(workers: int) -> Target:
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


def pytriton(grpc: bool = False) -> Target:
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


def torchserve(workers: int, grpc: bool = False) -> Target:
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
