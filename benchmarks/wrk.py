"""Run wrk with a Lua script that posts one payload, and parse what it prints."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.payloads import Payload

__all__ = ["WrkResult", "ensure_wrk", "lua_script", "parse", "run"]

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_LATENCY = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m)", re.MULTILINE)
_NON_2XX = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)", re.MULTILINE)
_SOCKET = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.MULTILINE
)


@dataclass
class WrkResult:
    """What one wrk run measured; latencies in milliseconds."""

    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors

    def to_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "errors": self.errors}


def parse(output: str) -> WrkResult:
    """Parse the text that ``wrk --latency`` prints.

    Raises:
        ValueError: when the output holds no request rate or no latency distribution.
    """
    rps = _RPS.search(output)
    latencies = {
        m.group(1): float(m.group(2)) * _UNITS[m.group(3)] for m in _LATENCY.finditer(output)
    }
    if rps is None or "50" not in latencies or "99" not in latencies:
        raise ValueError(f"not the output of `wrk --latency`:\n{output}")
    total = _TOTAL.search(output)
    non_2xx = _NON_2XX.search(output)
    socket = _SOCKET.search(output)
    return WrkResult(
        requests=int(total.group(1)) if total else 0,
        rps=float(rps.group(1)),
        p50_ms=latencies["50"],
        p99_ms=latencies["99"],
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in socket.groups()) if socket else 0,
    )


def _lua_string(text: str) -> str:
    # a Lua long string needs no escaping as long as its closing bracket does not occur
    level = "=" * 3
    return f"[{level}[{text}]{level}]"


def lua_script(payload: Payload, body_file: Path) -> str:
    """A wrk script that posts the body read from ``body_file`` with the payload's headers."""
    lines = [
        'wrk.method = "POST"',
        f'local f = assert(io.open({_lua_string(str(body_file))}, "rb"))',
        'wrk.body = f:read("*a")',
        "f:close()",
        f'wrk.headers["Content-Type"] = {_lua_string(payload.content_type)}',
    ]
    for name, value in payload.headers.items():
        if name != "Content-Type":
            # spaces matter: "[[" would open a Lua long string
            lines.append(f"wrk.headers[ {_lua_string(name)} ] = {_lua_string(value)}")
    return "\n".join(lines) + "\n"


def ensure_wrk() -> str:
    """The path of wrk, installed from Debian's packages when missing (needs root)."""
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and apt-get could not install it")
    return found


def run(
    url: str,
    payload: Payload,
    scratch: Path,
    connections: int,
    duration: float,
    threads: int = 2,
    timeout: float = 10.0,
) -> WrkResult:
    """Post ``payload`` to ``url + payload.path`` for ``duration`` seconds and parse the result."""
    scratch.mkdir(parents=True, exist_ok=True)
    body = scratch / "body.bin"
    body.write_bytes(payload.body)
    script = scratch / "post.lua"
    script.write_text(lua_script(payload, body))
    command = [
        ensure_wrk(),
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",  # wrk takes whole seconds
        f"--timeout={timeout:g}s",
        "--latency",
        "-s",
        str(script),
        url + payload.path,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    # wrk reports a broken script on stderr but still runs (plain GETs): never measure that
    if done.returncode != 0 or done.stderr.strip():
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse(done.stdout)
