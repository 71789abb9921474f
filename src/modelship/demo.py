"""The main job: train, export, serve as a real process, predict the whole test split over REST.

The API's accuracy must equal the offline accuracy: the served model is the exported one,
byte for byte, and the REST path adds no preprocessing of its own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

from modelship.client import Client

__all__ = ["run_demo", "start_serve_process"]

console = Console()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_serve_process(
    model_name: str, base_path: Path, port: int, log: Path, timeout: float = 120.0
) -> tuple[subprocess.Popen[bytes], float]:
    """Start ``modelship serve`` and wait until a version is AVAILABLE.

    Returns:
        The process and the seconds it took from start to ready.
    """
    command = [
        sys.executable, "-m", "modelship", "serve",
        "--model_name", model_name,
        "--model_base_path", str(base_path),
        "--rest_api_host", "127.0.0.1",
        "--rest_api_port", str(port),
        "--port", "0",
    ]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=dict(os.environ)
    )
    url = f"http://127.0.0.1:{port}/v1/models/{model_name}"
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{log.read_text()}")
        try:
            states = [v["state"] for v in httpx.get(url, timeout=1).json()["model_version_status"]]
            if "AVAILABLE" in states:
                return process, time.perf_counter() - started
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the server was not ready after {timeout:.0f}s:\n{log.read_text()}")


def run_demo(
    framework: str = "torch",
    epochs: int = 5,
    output: Path = Path("models"),
    data_dir: Path | None = None,
    batch: int = 64,
) -> bool:
    """Run the main job; True when the API's accuracy equals the offline accuracy."""
    from modelship.training import train_model

    console.rule(f"1/3 train and export ({framework})")
    result = train_model(
        "mnist", framework=framework, epochs=epochs, data_dir=data_dir, output=output
    )
    name, version = result.manifest.name, result.manifest.version

    console.rule("2/3 serve")
    port = _free_port()
    log = output / name / f".serve-{port}.log"
    process, ready_after = start_serve_process(name, output / name, port, log)
    url = f"http://127.0.0.1:{port}"
    console.print(f"serving {name} version {version} at {url} (ready after {ready_after:.2f} s)")

    console.rule("3/3 predict the test split through the REST API")
    try:
        x, y = result.x_test, result.y_test
        predicted: list[int] = []
        started = time.perf_counter()
        with Client(url) as client:
            for start in range(0, len(x), batch):
                probabilities = client.predict(name, x[start : start + batch])
                predicted.extend(np.asarray(probabilities).argmax(axis=1).tolist())
            first = client.classify(name, x[:1])[0]
        elapsed = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.unlink(missing_ok=True)
    api_accuracy = float(np.mean(np.asarray(predicted) == y))

    table = Table("", "accuracy", "examples")
    table.add_row("offline (exported model)", f"{result.test_accuracy:.4f}", str(len(y)))
    table.add_row("REST API", f"{api_accuracy:.4f}", str(len(predicted)))
    console.print(table)
    console.print(
        f"{len(y)} examples in {len(predicted) and -(-len(y) // batch)} requests, {elapsed:.2f} s; "
        f"first test image: predicted class {first[0]} with confidence {first[1]:.4f} "
        f"(true class {y[0]})"
    )
    # Compare counts of correct answers: the offline figure may have been stored as float32.
    correct_api = int(np.sum(np.asarray(predicted) == y))
    same = correct_api == round(result.test_accuracy * len(y))
    if same:
        console.print("[green]offline and REST accuracy are equal[/green]")
    else:
        console.print("[red]offline and REST accuracy differ[/red]")
    return same
