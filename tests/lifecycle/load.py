"""Steady client load against a real server, recording every answer's status and version."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import httpx
import onnx

from tests.fixtures.toy_models import write_version


class SteadyLoad(threading.Thread):
    """Posts the same predict request back to back until stopped."""

    def __init__(self, url: str, body: bytes) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.body = body
        self.answers: list[tuple[int, str]] = []
        self.failures: list[str] = []
        self.latencies: list[float] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop_event.is_set():
                started = time.perf_counter()
                try:
                    answer = client.post(self.url, content=self.body)
                except httpx.HTTPError as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                self.latencies.append(time.perf_counter() - started)
                version = answer.headers.get("x-model-version", "")
                self.answers.append((answer.status_code, version))
                if answer.status_code != 200:
                    self.failures.append(f"{answer.status_code}: {answer.text}")

    def versions_seen(self) -> list[str]:
        return [v for _, v in self.answers]

    def wait_for_version(self, version: str, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.answers and self.answers[-1][1] == version:
                return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=30)


def publish(base: Path, version: int, model: onnx.ModelProto) -> Path:
    """Write a version under a hidden name, then rename it into place (what exporters do)."""
    staging = base.parent / f".staging-{base.name}-{version}"
    shutil.rmtree(staging, ignore_errors=True)
    write_version(staging, version, model)
    target = base / str(version)
    os.rename(staging / str(version), target)
    staging.rmdir()
    return target


def publish_corrupt(base: Path, version: int) -> Path:
    """A version directory whose model.onnx is not ONNX, renamed into place."""
    staging = base.parent / f".staging-{base.name}-{version}"
    staging.mkdir(parents=True, exist_ok=True)
    (staging / "model.onnx").write_bytes(b"this is not an onnx model")
    target = base / str(version)
    os.rename(staging, target)
    return target
