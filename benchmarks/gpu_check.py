"""The GPU check's benchmark: the image CNN trained and served on the GPU, against the CPU.

    python -m benchmarks.gpu_check [--quick] [--results DIR]

Each measurement runs on the GPU when PyTorch sees one, and on the CPU:

- training: seconds per epoch of the CNN (224x224 synthetic shapes, same seed), the mean of the
  epochs after the first (which pays for kernel selection and allocation);
- the CPU/GPU output difference: the same trained weights run on both devices (largest absolute
  difference of the probabilities, share of equal predicted classes), and the validation
  accuracy of the model each device trained;
- serving: ``modelship serve`` with the PyTorch runtime (``model.pt2``) on ``--device cpu`` and
  ``cuda``, dynamic batching off and on (batches up to 64), single-image requests over REST (b64
  JPEG) and gRPC (TF Serving's Predict with an encoded JPEG string tensor) from client processes
  on the same machine: requests per second, p50 and p99 latency.

Prints a table and writes ``gpu-check.md`` and ``gpu-check.json`` into ``--results``. Without a
GPU only the CPU rows are measured (``--quick`` keeps that to a minute, for a check of the
script itself). The clients are Python, so their own cost bounds the rates: rates are
comparable between rows, not with other load generators.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import multiprocessing
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

MODEL = "shapes"


@dataclass(frozen=True)
class Plan:
    """How big each measurement is."""

    image_size: int = 224
    per_class: int = 64
    epochs: int = 3
    batch_size: int = 32
    seconds: float = 5.0
    clients: int = 4  # client processes
    concurrency: int = 96  # requests in flight, over all client processes
    workers: int = 2  # server worker processes
    max_batch_size: int = 64


QUICK = Plan(image_size=64, per_class=8, epochs=2, batch_size=8, seconds=1.0, clients=1,
             concurrency=4, workers=1, max_batch_size=8)  # fmt: skip


def _devices() -> list[str]:
    import torch

    return ["cuda:0", "cpu"] if torch.cuda.is_available() else ["cpu"]


def train(plan: Plan, scratch: Path) -> tuple[dict[str, Any], Path]:
    """Train on each device; the timings, the output differences and a published version."""
    from modelship.data.images import ImagePreprocessing, load_image_folder
    from modelship.data.synthetic import write_synthetic_images
    from modelship.export import write_version
    from modelship.manifest import Manifest
    from modelship.runtimes import RuntimeOptions, load_runtime
    from modelship.training.torch_cnn import ImageTorchRecipe

    write_synthetic_images(scratch / "data", per_class=plan.per_class)
    spec = ImagePreprocessing(size=(plan.image_size, plan.image_size))
    dataset = load_image_folder(scratch / "data", spec, seed=0)
    report: dict[str, Any] = {"n_train": len(dataset.x_train), "n_val": len(dataset.x_val)}
    recipes: dict[str, Any] = {}
    probabilities: dict[str, np.ndarray] = {}
    for device in _devices():
        # Every core for the CPU, as a CPU-only training run would use them.
        recipe = ImageTorchRecipe(
            seed=0, device=device, batch_size=plan.batch_size, threads=os.cpu_count() or 1
        )
        recipe.build(dataset, plan.epochs)
        times = []
        for _ in range(plan.epochs):
            started = time.perf_counter()
            recipe.fit_epoch(dataset.x_train, dataset.y_train)
            _synchronize(device)
            times.append(time.perf_counter() - started)
        probabilities[device] = recipe.predict_proba(dataset.x_val)
        accuracy = float((probabilities[device].argmax(1) == dataset.y_val).mean())
        report[device] = {
            "epoch_seconds": round(statistics.mean(times[1:] or times), 3),
            "first_epoch_seconds": round(times[0], 3),
            "val_accuracy": round(accuracy, 4),
        }
        recipes[device] = recipe
    served_by = _devices()[0]
    manifest = Manifest(
        name=MODEL,
        framework="torch",
        signatures={"serving_default": recipes[served_by].signature()},
        labels=list(dataset.labels),
        preprocessing=spec.to_json(),
        parameters={"trained_on": served_by},
    )
    version, _ = write_version(scratch / MODEL, manifest, recipes[served_by].export, version=1)
    # The same weights on both devices: the difference is the kernels' alone.
    x = spec.to_tensor(dataset.x_val)
    outputs = {}
    for device in _devices():
        runtime = load_runtime(version, "torch", RuntimeOptions(device=device))
        outputs[device] = runtime.predict("serving_default", {"images": x})["probabilities"]
        runtime.close()
    if len(outputs) == 2:
        gpu, cpu = outputs["cuda:0"], outputs["cpu"]
        report["same_weights"] = {
            "max_abs_difference": float(np.abs(gpu - cpu).max()),
            "same_class": float((gpu.argmax(1) == cpu.argmax(1)).mean()),
        }
        report["trained_apart"] = {
            "same_class": float(
                (probabilities["cuda:0"].argmax(1) == probabilities["cpu"].argmax(1)).mean()
            )
        }
    return report, scratch / MODEL


def _synchronize(device: str) -> None:
    if device != "cpu":
        import torch

        torch.cuda.synchronize()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``modelship serve`` for the model with the PyTorch runtime on ``device``."""

    def __init__(self, base: Path, device: str, batching: bool, plan: Plan, scratch: Path):
        self.rest_port, self.grpc_port = _free_port(), _free_port()
        config = scratch / "models.config"
        config.write_text(
            f"model_config_list {{ config {{ name: '{MODEL}' base_path: '{base}' "
            f"model_platform: 'pytorch' }} }}\n"
        )
        flags = ["--device", device, "--workers", str(plan.workers)]
        if batching:
            params = scratch / "batching.txt"
            params.write_text(
                f"max_batch_size {{ value: {plan.max_batch_size} }}\n"
                "batch_timeout_micros { value: 2000 }\nnum_batch_threads { value: 1 }\n"
                f"max_enqueued_batches {{ value: {4 * plan.concurrency} }}\n"
            )
            flags += ["--enable_batching", "--batching_parameters_file", str(params)]
        self.log = scratch / f"serve-{device.replace(':', '')}-{int(batching)}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "modelship", "serve", "--model_config_file", str(config),
             "--rest_api_port", str(self.rest_port), "--rest_api_host", "127.0.0.1",
             "--port", str(self.grpc_port), "--grpc_host", "127.0.0.1", *flags],
            stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.rest_port}"

    def wait(self, timeout: float = 180) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited:\n{self.log.read_text()[-3000:]}")
            try:
                states = httpx.get(f"{self.url}/v1/models/{MODEL}", timeout=1).json()
                if any(v["state"] == "AVAILABLE" for v in states.get("model_version_status", [])):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.25)
        raise RuntimeError(f"serve not ready after {timeout}s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def photo(size: int) -> bytes:
    """A photo-like JPEG (noise over a gradient, so it does not compress to nothing)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    pixels = (ramp[None, :, None] * 0.6 + rng.normal(60, 25, (size, size, 3))).clip(0, 255)
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


async def _client(api: str, target: str, jpeg: bytes, concurrency: int, seconds: float) -> Any:
    """``concurrency`` requests in flight for ``seconds``: latencies in ms and failures."""
    latencies: list[float] = []
    failures = 0
    if api == "rest":
        import httpx

        body = json.dumps({"instances": [{"b64": base64.b64encode(jpeg).decode()}]})
        client = httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=concurrency))

        async def call() -> bool:
            answer = await client.post(f"{target}/v1/models/{MODEL}:predict", content=body)
            return answer.status_code == 200

        close: Any = client.aclose
    else:
        import grpc

        from modelship.codecs.tensor_proto import to_tensor_proto
        from modelship.protos import tfs_prediction_service_pb2 as pb
        from modelship.protos import tfs_prediction_service_pb2_grpc as stubs

        request = pb.PredictRequest()
        request.model_spec.name = MODEL
        request.inputs["images"].CopyFrom(to_tensor_proto(np.array([jpeg], dtype=object)))
        channel = grpc.aio.insecure_channel(target)
        predict = stubs.PredictionServiceStub(channel).Predict

        async def call() -> bool:
            answer = await predict(request, timeout=60)
            return len(answer.outputs["probabilities"].float_val) > 0

        close = channel.close

    stop = time.perf_counter() + seconds  # from here: the imports and set-up are not timed

    async def worker() -> None:
        nonlocal failures
        while time.perf_counter() < stop:
            started = time.perf_counter()
            try:
                ok = await call()
            except Exception:  # a failed request counts, it does not stop the run
                ok = False
            latencies.append((time.perf_counter() - started) * 1000)
            failures += not ok

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await close()
    return latencies, failures


def _client_process(api: str, target: str, jpeg: bytes, concurrency: int, seconds: float) -> Any:
    return asyncio.run(_client(api, target, jpeg, concurrency, seconds))


def load(api: str, target: str, jpeg: bytes, plan: Plan) -> dict[str, float]:
    """Requests per second and latency percentiles over all client processes."""
    _client_process(api, target, jpeg, 2, min(1.0, plan.seconds))  # warm-up
    share = max(1, plan.concurrency // plan.clients)
    # Spawned: this process has started CUDA, which a forked child must not inherit.
    with ProcessPoolExecutor(plan.clients, mp_context=multiprocessing.get_context("spawn")) as pool:
        runs = list(
            pool.map(
                _client_process,
                *zip(*[(api, target, jpeg, share, plan.seconds)] * plan.clients, strict=True),
            )
        )
    latencies = np.array([ms for run in runs for ms in run[0]])
    failures = sum(run[1] for run in runs)
    if not len(latencies):
        raise RuntimeError(f"{api} at {target}: no request completed in {plan.seconds}s")
    return {
        "requests_per_second": round(len(latencies) / plan.seconds, 1),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "p99_ms": round(float(np.percentile(latencies, 99)), 2),
        "failures": failures,
    }


def serve(plan: Plan, base: Path, scratch: Path) -> list[dict[str, Any]]:
    jpeg = photo(plan.image_size)
    rows = []
    for device in _devices():
        for batching in (False, True):
            server = Server(base, device, batching, plan, scratch)
            try:
                server.wait()
                targets = {"rest": server.url, "grpc": f"127.0.0.1:{server.grpc_port}"}
                for api, target in targets.items():
                    row = {"device": device, "batching": batching, "api": api}
                    rows.append(row | load(api, target, jpeg, plan))
                    print(json.dumps(rows[-1]), flush=True)
            finally:
                server.stop()
    return rows


def table(report: dict[str, Any]) -> str:
    """The results as Markdown."""
    lines = [f"## GPU check, {report['when']}", "", f"{report['machine']}", ""]
    lines += ["| device | batching | API | req/s | p50 ms | p99 ms | failures |"]
    lines += ["| --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for r in report["serving"]:
        lines.append(
            f"| {r['device']} | {'on' if r['batching'] else 'off'} | {r['api']} | "
            f"{r['requests_per_second']} | {r['p50_ms']} | {r['p99_ms']} | {r['failures']} |"
        )
    training = report["training"]
    lines += ["", "| training on | s/epoch | first epoch s | val accuracy |"]
    lines += ["| --- | ---: | ---: | ---: |"]
    for device in _devices():
        t = training[device]
        lines.append(
            f"| {device} | {t['epoch_seconds']} | {t['first_epoch_seconds']} | "
            f"{t['val_accuracy']} |"
        )
    if "same_weights" in training:
        same = training["same_weights"]
        lines += [
            "",
            f"Same weights on GPU and CPU: largest probability difference "
            f"{same['max_abs_difference']:.2e}, same class for {same['same_class']:.1%} of the "
            f"validation images; the models trained on each device predict the same class for "
            f"{training['trained_apart']['same_class']:.1%}.",
        ]
    else:
        lines += ["", "No CUDA GPU here: the GPU rows were not measured."]
    return "\n".join(lines) + "\n"


def _machine() -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"{gpu}; {os.cpu_count()} CPUs; Python {platform.python_version()}; torch "
        f"{torch.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script")
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    plan = QUICK if args.quick else Plan()
    with tempfile.TemporaryDirectory(prefix="modelship-gpu-check-") as tmp:
        scratch = Path(tmp)
        training, base = train(plan, scratch)
        print(json.dumps({"training": training}), flush=True)
        report = {
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": _machine(),
            "plan": asdict(plan),
            "training": training,
            "serving": serve(plan, base, scratch),
        }
    text = table(report)
    print(text)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "gpu-check.md").write_text(text)
    (args.results / "gpu-check.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
