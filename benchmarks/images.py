"""Image classifier benchmark: a b64 JPEG vs the same image as a JSON float list, and throughput.

    python benchmarks/images.py [--model-dir models/shapes] [--rounds 30] [--seconds 10]

Without ``--model-dir`` a 224x224 model is trained first on the synthetic shapes (a few
minutes on 2 cores). The server runs as a real ``modelship serve`` process. Latency rounds
alternate the two encodings (A B A B ...) and report medians; throughput runs concurrent
clients for a fixed time, once plain and once with ``--enable_batching`` when the server has it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import orjson
from PIL import Image

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(model_dir: Path, extra: list[str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [str(BIN / "modelship"), "serve", "--model_name", "shapes", "--model_base_path",
         str(model_dir), "--rest_api_port", str(port), "--rest_api_host", "127.0.0.1", *extra],
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            states = httpx.get(f"{url}/v1/models/shapes", timeout=1).json()
            if any(v["state"] == "AVAILABLE" for v in states.get("model_version_status", [])):
                return process, url
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server not ready:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def _photo(size: int) -> bytes:
    # A photo-like JPEG: noise over a gradient, so it does not compress to nothing.
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    pixels = (ramp[None, :, None] * 0.6 + rng.normal(60, 25, (size, size, 3))).clip(0, 255)
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _floats(jpeg: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(jpeg)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def _b64_body(jpeg: bytes) -> bytes:
    return orjson.dumps({"instances": [{"b64": base64.b64encode(jpeg).decode()}]})


def _floats_body(floats: np.ndarray) -> bytes:
    # The seed's client: json.dumps of image.tolist(), with the stdlib json module.
    return json.dumps({"instances": [floats.tolist()]}).encode()


def latency(url: str, jpeg: bytes, rounds: int) -> dict[str, object]:
    """Client-side round trip per encoding, including the client's encoding of the body.

    The float path starts from the decoded array, as the seed's client had it in memory; the
    b64 path starts from the file's bytes.
    """
    floats = _floats(jpeg)
    encoders = {"b64_jpeg": lambda: _b64_body(jpeg), "json_floats": lambda: _floats_body(floats)}
    times: dict[str, list[float]] = {name: [] for name in encoders}
    sizes: dict[str, int] = {}
    with httpx.Client(timeout=60) as client:
        for i in range(rounds + 2):
            for name, encode in encoders.items():
                start = time.perf_counter()
                body = encode()
                answer = client.post(f"{url}/v1/models/shapes:predict", content=body)
                answer.raise_for_status()
                answer.json()
                if i >= 2:  # two warm-up rounds
                    times[name].append(time.perf_counter() - start)
                sizes[name] = len(body)
    medians = {k: round(statistics.median(v) * 1000, 2) for k, v in times.items()}
    return {
        "median_ms": medians,
        "body_bytes": sizes,
        "speedup": round(medians["json_floats"] / medians["b64_jpeg"], 1),
    }


async def _load(url: str, body: bytes, seconds: float, concurrency: int) -> float:
    done = 0
    stop = time.monotonic() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal done
        while time.monotonic() < stop:
            answer = await client.post(f"{url}/v1/models/shapes:predict", content=body)
            answer.raise_for_status()
            done += 1

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        start = time.monotonic()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return done / (time.monotonic() - start)


def _has_batching() -> bool:
    help_text = subprocess.run(
        [str(BIN / "modelship"), "serve", "--help"], capture_output=True, text=True,
        env={**os.environ, "COLUMNS": "200"},
    ).stdout  # fmt: skip
    return "--enable_batching" in help_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, help="models/<name> of a 224x224 image model")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="modelship-bench-images-"))
    model_dir = args.model_dir
    if model_dir is None:
        from modelship.training.images import train_images

        train_images(None, name="shapes", epochs=8, image_size=224, output=work / "models")
        model_dir = work / "models" / "shapes"
    jpeg = _photo(224)
    results: dict[str, object] = {}
    process, url = _serve(model_dir, [], work / "plain.log")
    try:
        results["latency_224_jpeg"] = latency(url, jpeg, args.rounds)
        results["throughput_plain_rps"] = asyncio.run(
            _load(url, _b64_body(jpeg), args.seconds, args.concurrency)
        )
    finally:
        _stop(process)
    if _has_batching():
        process, url = _serve(model_dir, ["--enable_batching"], work / "batching.log")
        try:
            results["throughput_batching_rps"] = asyncio.run(
                _load(url, _b64_body(jpeg), args.seconds, args.concurrency)
            )
        finally:
            _stop(process)
    else:
        results["throughput_batching_rps"] = "serve has no --enable_batching"
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
