"""Drive a gRPC unary method with h2load (nghttp2's HTTP/2 load generator), as wrk drives REST.

A gRPC unary call is an HTTP/2 POST to ``/<package.Service>/<Method>`` with
``content-type: application/grpc``, ``te: trailers`` and a body of one length-prefixed message
(a zero "compressed" byte, the 4-byte big-endian length, the serialized request). h2load posts
a fixed body, so the request is serialized once and written to a file; the load generator is
native code, like wrk, and no Python client bounds the numbers.

h2load prints no percentiles; ``--log-file`` writes one line per request (start time, HTTP
status, microseconds), from which p50 and p99 are computed. A gRPC error is an HTTP 200 whose
trailers carry ``grpc-status``, which h2load does not read: failed calls are counted from the
response bytes instead (an error answer carries no message), see :func:`parse`.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

from benchmarks.wrk import WrkResult

__all__ = ["ensure_h2load", "grpc_frame", "parse", "run"]

_RPS = re.compile(r"^finished in [\d.]+s, ([\d.]+) req/s", re.MULTILINE)
_REQUESTS = re.compile(
    r"^requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, "
    r"(\d+) errored, (\d+) timeout",
    re.MULTILINE,
)
_STATUS = re.compile(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", re.MULTILINE)
_DATA = re.compile(r"^traffic: .*?, ([\d.]+\w*) \((\d+)\) data", re.MULTILINE)


def grpc_frame(message: bytes) -> bytes:
    """``message`` as one gRPC length-prefixed message (uncompressed)."""
    return b"\x00" + struct.pack(">I", len(message)) + message


def ensure_h2load() -> str:
    """The path of h2load, installed from Debian's nghttp2-client when missing (needs root)."""
    found = shutil.which("h2load")
    if found:
        return found
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "nghttp2-client"], check=True)
    found = shutil.which("h2load")
    if not found:
        raise RuntimeError("h2load is not installed and apt-get could not install nghttp2-client")
    return found


def parse(output: str, log: str, answer_bytes: int) -> WrkResult:
    """A result from h2load's summary and its per-request log.

    Args:
        output: what h2load printed.
        log: the ``--log-file`` text (``start<TAB>status<TAB>microseconds`` per request).
        answer_bytes: the size of one successful answer's DATA (the framed response message);
            fewer DATA bytes than ``answer_bytes`` per completed request mean failed calls.

    Raises:
        ValueError: when the output is not h2load's summary or no request completed.
    """
    rps = _RPS.search(output)
    counts = _REQUESTS.search(output)
    data = _DATA.search(output)
    latencies = sorted(
        int(fields[2]) / 1e3
        for fields in (line.split("\t") for line in log.splitlines())
        if len(fields) == 3 and fields[2].isdigit()
    )
    status = _STATUS.search(output)
    if rps is None or counts is None or status is None or data is None or not latencies:
        raise ValueError(f"not the output of a completed h2load run:\n{output}")
    ok = int(status.group(1))
    # every answered call ends with trailers; only a successful one also carries a message
    grpc_failed = max(0, ok - int(data.group(2)) // answer_bytes) if answer_bytes else 0
    return WrkResult(
        requests=int(counts.group(1)),
        rps=float(rps.group(1)),
        p50_ms=latencies[len(latencies) // 2],
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        non_2xx=sum(int(status.group(i)) for i in (2, 3, 4)) + grpc_failed,
        socket_errors=int(counts.group(4)) + int(counts.group(5)),
    )


def run(
    url: str,
    body: bytes,
    answer_bytes: int,
    scratch: Path,
    connections: int,
    streams: int,
    duration: float,
    threads: int = 2,
) -> WrkResult:
    """Call the gRPC method at ``url`` (``http://host:port/pkg.Service/Method``) for
    ``duration`` seconds with ``connections`` HTTP/2 connections of ``streams`` calls in
    flight each.

    Args:
        body: the framed request (:func:`grpc_frame`).
        answer_bytes: the framed size of a successful answer (see :func:`parse`).
    """
    scratch.mkdir(parents=True, exist_ok=True)
    data = scratch / "grpc-body.bin"
    data.write_bytes(body)
    log = scratch / "h2load.log"
    log.unlink(missing_ok=True)
    command = [
        ensure_h2load(),
        f"--clients={connections}",
        f"--max-concurrent-streams={streams}",
        f"--threads={min(threads, connections)}",
        f"--duration={max(1, round(duration))}",  # h2load takes whole seconds
        "--warm-up-time=1",
        f"--data={data}",
        "--header=content-type: application/grpc",
        "--header=te: trailers",
        f"--log-file={log}",
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"h2load failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse(done.stdout, log.read_text() if log.exists() else "", answer_bytes)
