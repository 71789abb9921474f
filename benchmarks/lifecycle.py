"""Version swaps under load, and memory over repeated load/unload cycles.

Starts ``modelship serve`` on a model repository, keeps client threads posting predict requests,
and measures:

- latency: p50/p99 in steady windows vs swap windows, alternated (A B A B); a swap window runs
  from the publication of a new version for ``--window`` seconds and holds its load, warm-up,
  swap and the unload of the old version;
- switch time: from the atomic rename to the first answer from the new version;
- event-loop lag: the server's ``modelship_event_loop_lag_seconds`` histogram, scraped at the
  edges of every window, so the lag samples of steady and swap windows are told apart;
- memory: the server's resident set after the first swap vs after ``--cycles`` swaps (each
  publishes a new version and deletes the older one).

    .venv/bin/python -m benchmarks.lifecycle                  # 20 cycles, 2 client threads
    .venv/bin/python -m benchmarks.lifecycle --hidden 4096 --cycles 40 --json out.json

JSON keys (``--json``; latencies in ms, as the client saw them): ``requests``,
``failed_requests``, ``steady_p50_ms``, ``steady_p99_ms``, ``steady_max_ms``, ``swap_p50_ms``,
``swap_p99_ms``, ``swap_max_ms``, ``swap_p99_over_steady_p99`` (the target: at most 1.5),
``swap_loading_p99_ms`` / ``swap_grace_p99_ms`` / ``swap_unload_p99_ms`` (the swap window's
phases: before the first answer of the new version, the two seconds after, the rest),
``switch_seconds_median``, ``switch_seconds_max``, ``poll_seconds``, the loop lag of each kind of
window from the server's histogram (``steady_loop_lag_mean_ms``, ``steady_loop_lag_p99_ms``,
``steady_loop_lag_max_ms``, ``steady_loop_lag_samples`` and the same with ``swap_``; p99 and max
are the upper bounds of their histogram buckets), ``rss_mb_after_first_cycle``,
``rss_mb_after_last_cycle``, ``rss_growth_percent``, ``cycles``, ``workers``,
``model_weights_mb``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from prometheus_client.parser import text_string_to_metric_families

BIN = Path(sys.executable).parent
POLL_SECONDS = 0.5


def mlp(hidden: int, seed: int) -> onnx.ModelProto:
    """784 -> hidden ReLU -> 10 softmax; ``hidden`` sets the version's weight memory."""
    rng = np.random.default_rng(seed)
    w1 = (rng.normal(size=(784, hidden)) * 0.05).astype(np.float32)
    w2 = (rng.normal(size=(hidden, 10)) * 0.05).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["images", "w1"], ["h0"]),
            helper.make_node("Relu", ["h0"], ["h"]),
            helper.make_node("MatMul", ["h", "w2"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        ],
        "mlp",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 784])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 10])],
        initializer=[numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def stage(base: Path, version: int, hidden: int) -> Path:
    """Write the version under a hidden name, where the server does not look."""
    staging = base / f".tmp-{version}"
    staging.mkdir()
    onnx.save(mlp(hidden, version), str(staging / "model.onnx"))
    return staging


def publish(staging: Path, version: int) -> float:
    """Rename a staged version into place; returns the rename time."""
    renamed = time.monotonic()
    os.rename(staging, staging.parent / str(version))
    return renamed


class Load:
    """Client threads posting one instance per request, recording (time, latency, version)."""

    def __init__(self, url: str, threads: int) -> None:
        self.url = url
        self.samples: list[tuple[float, float, str]] = []
        self.failures = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        self._body = json.dumps({"instances": [[0.5] * 784]}).encode()

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    answer = client.post(self.url, content=self._body)
                except httpx.HTTPError:
                    self.failures += 1
                    continue
                ended = time.monotonic()
                if answer.status_code != 200:
                    self.failures += 1
                    continue
                self.samples.append((ended, ended - started, answer.headers["x-model-version"]))

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def latest_version(self) -> str:
        return self.samples[-1][2] if self.samples else ""


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its child processes (the workers), in MiB."""
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            status = (proc / "status").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if int(proc.name) == pid or ppid == pid:
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q)) if values else float("nan")


def wait_for(predicate: object, timeout: float = 60, every: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(every)


def states(url: str) -> dict[str, str]:
    answer = httpx.get(url, timeout=5).json()
    return {v["version"]: v["state"] for v in answer["model_version_status"]}


LAG_METRIC = "modelship_event_loop_lag_seconds"


def loop_lag(base_url: str) -> tuple[dict[float, float], float]:
    """The server's loop-lag histogram now: upper bound (s) -> samples at or under it (the
    ``+Inf`` bound as ``inf``), and the sum of the samples (s)."""
    text = httpx.get(base_url + "/metrics", timeout=10).text
    buckets: dict[float, float] = {}
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == LAG_METRIC + "_bucket":
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
            elif sample.name == LAG_METRIC + "_sum":
                total += sample.value
    return buckets, total


class LagWindows:
    """The loop-lag samples that fell in one kind of window, summed over its windows."""

    def __init__(self) -> None:
        self.buckets: dict[float, float] = {}
        self.total = 0.0

    def add(
        self, before: tuple[dict[float, float], float], after: tuple[dict[float, float], float]
    ) -> None:
        for bound, value in after[0].items():
            self.buckets[bound] = self.buckets.get(bound, 0.0) + value - before[0].get(bound, 0)
        self.total += after[1] - before[1]

    def figures(self, prefix: str) -> dict[str, float]:
        bounds = sorted(self.buckets)
        count = self.buckets.get(float("inf"), 0.0)

        def quantile(q: float) -> float:
            for bound in bounds:
                if self.buckets[bound] >= q * count:
                    return bound * 1000
            return float("nan")

        return {
            f"{prefix}_loop_lag_samples": count,
            f"{prefix}_loop_lag_mean_ms": 1000 * self.total / count if count else float("nan"),
            f"{prefix}_loop_lag_p99_ms": quantile(0.99) if count else float("nan"),
            f"{prefix}_loop_lag_max_ms": quantile(1.0) if count else float("nan"),
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=2048, help="hidden units (memory/version)")
    parser.add_argument("--threads", type=int, default=2, help="client threads")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument(
        "--window", type=float, default=3.0, help="seconds of each steady and swap window"
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="modelship-lifecycle-"))
    base = root / "mlp"
    base.mkdir()
    publish(stage(base, 1, args.hidden), 1)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [str(BIN / "modelship"), "serve", "--model_name", "mlp", "--model_base_path", str(base),
         "--rest_api_port", str(port), "--rest_api_host", "127.0.0.1",
         "--file_system_poll_wait_seconds", str(POLL_SECONDS), "--log_level", "warning",
         "--workers", str(args.workers)],
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    url = f"{base_url}/v1/models/mlp"
    lag_steady, lag_swap = LagWindows(), LagWindows()
    load = Load(url + ":predict", args.threads)
    try:
        wait_for(lambda: _up(url))
        load.start()
        wait_for(lambda: load.latest_version() == "1")
        time.sleep(1.0)  # warm the client connections
        # A B A B: a steady window, then a swap window, each cycle; the machine's noise lands
        # in both alike.
        steady: list[float] = []
        swap: list[float] = []
        phases: dict[str, list[float]] = {}
        switch_times: list[float] = []
        rss: list[float] = []
        for cycle in range(1, args.cycles + 1):
            version = cycle + 1
            # Built outside both windows: generating and writing the weights takes this
            # process's GIL from the client threads, whose latencies would then count.
            staging = stage(base, version, args.hidden)
            time.sleep(0.2)
            lag_before = loop_lag(base_url)
            steady_from = time.monotonic()
            time.sleep(args.window)
            steady += [lat for t, lat, _ in load.samples if t >= steady_from]
            lag_after = loop_lag(base_url)
            lag_steady.add(lag_before, lag_after)
            renamed = publish(staging, version)
            wait_for(lambda v=str(version): load.latest_version() == v)
            switched = next(t for t, _, v in load.samples if v == str(version) and t >= renamed)
            switch_times.append(switched - renamed)
            # Status requests are load too: ask rarely, so the swap window is not inflated.
            wait_for(lambda v=str(version - 1): states(url).get(v) == "END", every=0.25)
            time.sleep(max(0.0, renamed + args.window - time.monotonic()))
            swap += [lat for t, lat, _ in load.samples if renamed <= t]
            lag_swap.add(lag_after, loop_lag(base_url))
            for t, lat, _ in load.samples:
                if t >= renamed:
                    phase = "loading" if t < switched else "grace" if t < switched + 2 else "unload"
                    phases.setdefault(phase, []).append(lat)
            shutil.rmtree(base / str(version - 1))
            wait_for(lambda v=str(version - 1): v not in states(url), every=0.25)
            rss.append(rss_mb(server.pid))
    finally:
        load.stop()
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)

    figures = {
        "requests": len(load.samples),
        "failed_requests": load.failures,
        "steady_p50_ms": percentile(steady, 50),
        "steady_p99_ms": percentile(steady, 99),
        "steady_max_ms": percentile(steady, 100),
        "swap_p50_ms": percentile(swap, 50),
        "swap_p99_ms": percentile(swap, 99),
        "swap_max_ms": percentile(swap, 100),
        "switch_seconds_median": float(np.median(switch_times)),
        "switch_seconds_max": float(np.max(switch_times)),
        "poll_seconds": POLL_SECONDS,
        "rss_mb_after_first_cycle": rss[0],
        "rss_mb_after_last_cycle": rss[-1],
        "cycles": args.cycles,
        "workers": args.workers,
        "model_weights_mb": (784 * args.hidden + args.hidden * 10) * 4 / 2**20,
    }
    for phase, values in sorted(phases.items()):
        figures[f"swap_{phase}_p99_ms"] = percentile(values, 99)
    figures["swap_p99_over_steady_p99"] = figures["swap_p99_ms"] / figures["steady_p99_ms"]
    figures |= lag_steady.figures("steady") | lag_swap.figures("swap")
    figures["rss_growth_percent"] = 100 * (rss[-1] - rss[0]) / rss[0]
    for key, value in figures.items():
        print(f"{key:28s} {value:.3f}" if isinstance(value, float) else f"{key:28s} {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


def _up(url: str) -> bool:
    try:
        return "AVAILABLE" in states(url).values()
    except (httpx.HTTPError, ValueError):
        return False


if __name__ == "__main__":
    main()
