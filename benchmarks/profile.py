"""Profile a server under wrk load with py-spy and summarize where its threads spend time.

``python benchmarks/profile.py --target modelship --connections 64`` starts the target on the
MNIST model, loads it with wrk, records every thread with ``py-spy record --format raw``
(sampling without pausing the server), and prints per-thread shares and the functions with the
largest inclusive and self time. The raw profile is kept for flame graph tools.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import models, payloads, wrk
from benchmarks.peers.install import ensure_peer
from benchmarks.targets import Server, targets

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
_PREFIX = re.compile(r" \(/\S*?/(?:site-packages|src|lib/python3\.\d+)/")
_LINE = re.compile(r":\d+\)$")


def _frame(text: str) -> str:
    return _LINE.sub(")", _PREFIX.sub(" (", text))


def summarize(raw: str, top: int = 25) -> str:
    """Per-thread sample shares, then each busy thread's top inclusive and self frames.

    ``raw`` is py-spy's ``--format raw`` output: ``thread;frame;...;frame count`` per line.
    """
    totals: Counter[str] = Counter()
    inclusive: dict[str, Counter[str]] = defaultdict(Counter)
    own: dict[str, Counter[str]] = defaultdict(Counter)
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        thread = re.sub(r"^thread \(\w+\):?\s*", "", frames[0]).strip()
        totals[thread] += int(count)
        for name in dict.fromkeys(_frame(f) for f in frames[1:]):
            inclusive[thread][name] += int(count)
        own[thread][_frame(frames[-1])] += int(count)
    everything = sum(totals.values()) or 1
    out = []
    for thread, samples in totals.most_common():
        out.append(f"== {thread}: {samples} samples, {100 * samples / everything:.0f}% of all")
        if samples < everything / 20:
            continue
        out.append("  inclusive:")
        # frames under every sample (bootstrap, CLI, event loop entry) say nothing: leave them out
        busy = [(k, n) for k, n in inclusive[thread].most_common() if n < 0.9 * samples]
        out += [f"  {100 * n / samples:5.1f}% {k}" for k, n in busy[:top]]
        out.append("  self:")
        out += [f"  {100 * n / samples:5.1f}% {k}" for k, n in own[thread].most_common(top // 2)]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", default="modelship")
    parser.add_argument("--model", default="mnist")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--out", type=Path, default=WORK / "profile.txt")
    args = parser.parse_args()
    pyspy = ensure_peer("tools").parent / "py-spy"
    info = models.prepare(WORK, HERE.parent)[args.model]
    server = Server(targets(1)[args.target], info, WORK / "logs")
    try:
        server.wait_ready()
        payload = payloads.make(
            "tfs", info.name, info.input_name, payloads.instances(info.input_shape)
        )
        wrk.run(server.url, payload, WORK / "wrk", args.connections, 2)  # warm up
        results: list[wrk.WrkResult] = []
        load = threading.Thread(
            target=lambda: results.append(
                wrk.run(server.url, payload, WORK / "wrk", args.connections, args.duration + 2)
            )
        )
        load.start()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                str(pyspy),
                "record",
                "--pid",
                str(server.process.pid),
                "--duration",
                str(int(args.duration)),
                "--rate",
                str(args.rate),
                "--format",
                "raw",
                "--threads",
                "--nonblocking",
                "--output",
                str(args.out),
            ],
            check=True,
            capture_output=True,
        )
        load.join()
    finally:
        server.stop()
    print(
        f"{args.target} under wrk -c{args.connections} (while sampled): "
        f"{results[0].rps:.0f} req/s, "
        f"p50 {results[0].p50_ms:.2f} ms, p99 {results[0].p99_ms:.2f} ms"
    )
    print(summarize(args.out.read_text()))
    print(f"raw profile: {args.out}")


if __name__ == "__main__":
    main()
