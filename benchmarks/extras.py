"""The measurements ``make bench`` runs beside its wrk/h2load tables, each as its own process.

- ``instructions``: callgrind's instructions per request of modelship and of the raw ASGI +
  onnxruntime server (``instructions.py``), the figure that does not move with the machine's
  load; skipped where valgrind is not installed;
- ``batching``: onnxruntime's offline rows/s per batch size against what ``--enable_batching``
  realises under load, both models (``batching_curve.py --json``);
- ``lifecycle``: p99 latency while a new version loads and swaps against the steady p99, and
  the event loop's lag meanwhile (``lifecycle.py --json``).

A process that fails or runs past its time limit leaves ``{"error": ...}`` in the results and
the run goes on: one broken measurement must not cost the other forty minutes.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["EXTRAS", "Extra", "run_extra"]

ROOT = Path(__file__).resolve().parents[1]
_PER_REQUEST = re.compile(r"^(\S+) (\S+): ([\d,]+) instructions/request", re.MULTILINE)


@dataclass(frozen=True)
class Extra:
    """One measurement: how to run it (quick or not) and about how long it takes here."""

    name: str
    title: str
    run: Callable[[Path, bool], dict[str, Any]]
    estimate_seconds: Callable[[bool], float]


def _python(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", f"benchmarks.{module}", *args]


def _run(command: list[str], log: Path, timeout: float) -> str:
    """Run ``command`` from the repository root, its output to ``log`` and returned."""
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"  $ {' '.join(command[1:])}", flush=True)
    try:
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else ""
        log.write_text(out)
        raise RuntimeError(f"still running after {timeout:.0f} s (log: {log})") from exc
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-6:])
        raise RuntimeError(f"exited {done.returncode}: {tail}")
    return done.stdout


INSTRUCTION_TARGETS = ("modelship", "raw-onnx")


def _instruction_requests(quick: bool) -> int:
    return 300 if quick else 1000


def _instructions(work: Path, quick: bool) -> dict[str, Any]:
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        return {"skipped": "valgrind is not installed (Debian's valgrind package)"}
    requests = _instruction_requests(quick)
    figures: dict[str, Any] = {"requests": requests, "encoding": "tfs", "connections": 64}
    for target in INSTRUCTION_TARGETS:
        command = _python("instructions", f"--target={target}", f"--requests={requests}")
        out = _run(command, work / "logs" / f"instructions-{target}.log", timeout=1500)
        found = _PER_REQUEST.search(out)
        if found is None:
            raise RuntimeError(f"no instructions/request in the output: {out[-300:]}")
        figures[target] = float(found.group(3).replace(",", ""))
    return figures


def _json_of(command: list[str], work: Path, name: str, timeout: float) -> dict[str, Any]:
    path = work / f"{name}.json"
    path.unlink(missing_ok=True)
    _run([*command, f"--json={path}"], work / "logs" / f"{name}.log", timeout)
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def _batching(work: Path, quick: bool) -> dict[str, Any]:
    if quick:
        options = ["--seconds=3", "--rounds=1", "--offline_seconds=2", "--encodings=tfs"]
    else:
        options = ["--seconds=5", "--rounds=2", "--offline_seconds=6"]
    return _json_of(_python("batching_curve", *options), work, "batching", timeout=1200)


def _lifecycle(work: Path, quick: bool) -> dict[str, Any]:
    options = ["--cycles=3", "--window=2"] if quick else ["--cycles=8", "--window=3"]
    return _json_of(_python("lifecycle", *options), work, "lifecycle", timeout=900)


EXTRAS = {
    extra.name: extra
    for extra in (
        Extra(
            "instructions",
            "Instructions per request (callgrind), REST predict, one worker",
            _instructions,
            # under valgrind: start-up (minutes on a busy machine), warm-up and the requests
            # at 30-80x the normal cost
            lambda quick: 2 * (150 + _instruction_requests(quick) * 0.1),
        ),
        Extra(
            "batching",
            "Dynamic batching against onnxruntime's offline batch curve",
            _batching,
            # per model: the offline curve, then each encoding with and without batching
            lambda quick: 60 if quick else 2 * (6 + 3 * 2 * 2 * (5 + 10)),
        ),
        Extra(
            "lifecycle",
            "Latency while versions load and swap",
            _lifecycle,
            lambda quick: 40 if quick else 100,
        ),
    )
}


def run_extra(extra: Extra, work: Path, quick: bool) -> dict[str, Any]:
    """The figures of ``extra``, or ``{"error": why}``; ``seconds`` says how long it took."""
    print(f"{time.strftime('%H:%M:%S')} [{extra.name}] {extra.title}", flush=True)
    started = time.monotonic()
    try:
        figures = extra.run(work, quick)
    except (RuntimeError, OSError, ValueError) as exc:
        print(f"  failed: {exc}", flush=True)
        figures = {"error": str(exc)[:500]}
    figures["seconds"] = round(time.monotonic() - started, 1)
    return figures
