"""Several worker processes as one server: how far apart they switch versions and reload configs.

Starts ``modelship serve --workers 2`` on an MLP, restarts one worker (so the two did not start
together, as after any crash), and measures over client threads that open a new connection per
request (each lands on either worker):

- mixed window: after a new version is published, the time between the first answer from it
  and the last answer from the old one (0 when every connection switches at once);
- stale answers: answers from the old version after a status request first said the new one was
  ``AVAILABLE``;
- reload: the time a ``HandleReloadConfigRequest`` (sent with tensorflow-serving-api's stub)
  takes to answer, and how many fresh connections right after its answer serve the new list.

    .venv/bin/python benchmarks/worker_group.py                   # 5 publishes, 5 reloads
    PYTHONPATH=/some/older/checkout/src .venv/bin/python benchmarks/worker_group.py
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc
import httpx
import numpy as np

from benchmarks.lifecycle import publish

BIN = Path(sys.executable).parent
BODY = {"instances": np.zeros((1, 784), np.float32).tolist()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FreshConnections:
    """Client threads posting predict requests, each on a new connection."""

    def __init__(self, url: str, threads: int) -> None:
        self.url = url
        self.answers: list[tuple[float, str]] = []  # (monotonic time, version)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                answer = httpx.post(self.url, json=BODY, timeout=10)
            except httpx.HTTPError:
                continue
            self.answers.append((time.monotonic(), answer.headers.get("x-model-version", "")))

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def wait_for(predicate: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.01)
    raise TimeoutError("condition not met in time")


def available(url: str, version: int) -> bool:
    try:
        states = httpx.get(url, timeout=5).json()["model_version_status"]
    except (httpx.HTTPError, ValueError, KeyError):
        return False
    return any(s["version"] == str(version) and s["state"] == "AVAILABLE" for s in states)


def workers(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def reload(target: str, models: dict[str, Path]) -> float:
    """Send a reload request naming ``models``; returns how long it took to answer."""
    from tensorflow_serving.apis import model_management_pb2, model_service_pb2_grpc

    request = model_management_pb2.ReloadConfigRequest()
    for name, base in models.items():
        request.config.model_config_list.config.add(name=name, base_path=str(base))
    with grpc.insecure_channel(target) as channel:
        started = time.monotonic()
        model_service_pb2_grpc.ModelServiceStub(channel).HandleReloadConfigRequest(
            request, timeout=120
        )
        return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--publishes", type=int, default=5)
    parser.add_argument("--reloads", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=2048, help="hidden units (load time)")
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="modelship-group-bench-"))
    base = root / "mlp"
    base.mkdir()
    publish(base, 1, args.hidden)
    port, grpc_port = free_port(), free_port()
    server = subprocess.Popen(
        [str(BIN / "modelship"), "serve", "--model_name", "mlp", "--model_base_path", str(base),
         "--rest_api_port", str(port), "--rest_api_host", "127.0.0.1",
         "--port", str(grpc_port), "--grpc_host", "127.0.0.1", "--log_level", "warning",
         "--workers", "2"],
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1/models/mlp"
    load = FreshConnections(url + ":predict", args.threads)
    try:
        wait_for(lambda: len(workers(server.pid)) == 2 and available(url, 1))
        # Replace one worker: its polls no longer start in step with the other's by chance.
        victim = min(workers(server.pid))
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: victim not in workers(server.pid) and len(workers(server.pid)) == 2)
        time.sleep(3.0)  # the replacement loads and listens
        load.start()
        mixed: list[float] = []
        stale: list[int] = []
        for version in range(2, args.publishes + 2):
            publish(base, version, args.hidden)
            wait_for(lambda v=version: available(url, v))
            said = time.monotonic()
            time.sleep(2.0)  # answers keep coming from both workers
            answers = list(load.answers)
            new = [t for t, v in answers if v == str(version)]
            old = [t for t, v in answers if v == str(version - 1) and t >= min(new)]
            mixed.append(max(0.0, max(old, default=0.0) - min(new)))
            stale.append(sum(1 for t, v in answers if v == str(version - 1) and t > said))
        load.stop()

        reload_seconds: list[float] = []
        consistent = 0
        for _ in range(args.reloads):
            reload_seconds.append(reload(f"127.0.0.1:{grpc_port}", {"mlp": base, "mlp_copy": base}))
            seen = [
                httpx.get(f"http://127.0.0.1:{port}/v1/models/mlp_copy", timeout=5).status_code
                for _ in range(50)
            ]
            consistent += seen.count(200)
            reload(f"127.0.0.1:{grpc_port}", {"mlp": base})
        figures = {
            "hidden": args.hidden,
            "mixed_window_s": [round(m, 3) for m in mixed],
            "mixed_window_median_s": round(statistics.median(mixed), 3),
            "stale_answers_after_available": stale,
            "reload_answer_median_s": round(statistics.median(reload_seconds), 3),
            "fresh_connections_serving_reloaded_list": f"{consistent} of {50 * args.reloads}",
        }
        print(json.dumps(figures, indent=2))
        if args.json is not None:
            args.json.write_text(json.dumps(figures, indent=2))
    finally:
        load.stop()
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
