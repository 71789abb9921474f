"""A user's shell for the README: a scratch directory where its commands run as pasted.

Only what cannot be the same here is replaced, and always in :meth:`Session.substitute`:
ports (8501 and 8500 are likely taken on a shared machine), the README's example version
numbers (a run makes its own), ``~/mnist`` (a stand-in in MNIST's IDX format) and the value
placeholders of the curl examples. Servers bind to 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from tests.conftest import free_port
from tests.readme.blocks import Block

BIN = Path(sys.executable).parent

# curl answers an HTTP error with exit status 22 (and the body), so a wrong example fails.
_PRELUDE = 'curl() { command curl --fail-with-body --silent --show-error "$@"; }\n'

# The README's example versions, in the order the walkthrough creates them.
EXAMPLE_VERSIONS = ("1763779200", "1763865600")


@dataclass
class Session:
    """The scratch directory, the ports that stand for 8501/8500 and the one server running."""

    root: Path
    digits: np.ndarray[Any, Any]  # bundled test digits, n x 784 floats in [0, 1]
    rest_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    versions: dict[str, str] = field(default_factory=dict)  # README's version -> real one
    server: subprocess.Popen[bytes] | None = None
    server_block: int | None = None
    done: dict[int, Any] = field(default_factory=dict)  # block line -> its handler's result
    log: list[str] = field(default_factory=list)

    @property
    def cwd(self) -> Path:
        return self.root / "work"

    @property
    def mnist_dir(self) -> Path:
        return self.root / "mnist"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    def substitute(self, text: str) -> str:
        """The README's text as it runs here."""
        text = re.sub(r"\b8501\b", str(self.rest_port), text)
        text = re.sub(r"\b8500\b", str(self.grpc_port), text)
        text = text.replace("~/mnist", str(self.mnist_dir))
        for example, real in self.versions.items():
            text = text.replace(example, real)
        # curl's elided tensors: one bundled digit, written out.
        digit = json.dumps([round(float(v), 4) for v in self.digits[0]])
        text = text.replace("[0.0, ... 784 values ...]", digit).replace("[[...]]", f"[{digit}]")
        return text

    def sh(self, command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run one README command in bash, in the scratch directory; it must succeed."""
        return self.finish(self.start(command, cwd))

    def start(self, command: str, cwd: Path | None = None) -> subprocess.Popen[str]:
        """Start one README command in bash, in the scratch directory (or ``cwd``)."""
        command = self.substitute(command)
        self.log.append(f"$ {command[:300]}")
        return subprocess.Popen(
            ["bash", "-o", "pipefail", "-c", _PRELUDE + command],
            cwd=cwd or self.cwd,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def finish(self, process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
        """Wait for a command :meth:`start` started; it must have succeeded."""
        stdout, stderr = process.communicate(timeout=300)
        self.log.append(stdout[-2000:] + stderr[-2000:])
        command = str(process.args[-1]).removeprefix(_PRELUDE)
        assert process.returncode == 0, f"{command}\nexit {process.returncode}\n{stderr}"
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

    def env(self) -> dict[str, str]:
        # COLUMNS: rich tables wide enough to keep a version number on one line.
        return {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "COLUMNS": "200"}

    def run_once(self, block: Block, handler: Callable[[Block, Session], Any]) -> Any:
        """Run a block's handler the first time it is asked for; later calls get its result."""
        if block.line not in self.done:
            self.done[block.line] = handler(block, self)
        return self.done[block.line]

    def new_versions(self, name: str, action: Callable[[], object]) -> list[str]:
        """The version directories of ``models/<name>`` that ``action`` created."""
        base = self.cwd / "models" / name
        before = set(os.listdir(base)) if base.is_dir() else set()
        action()
        return sorted(p for p in os.listdir(base) if p.isdigit() and p not in before)

    def serve(self, block: Block, command: str, timeout: float = 60) -> None:
        """Start ``modelship serve`` from the README (after stopping the running one).

        Returns once ``/v2/health/ready`` says every model has an AVAILABLE version.
        """
        self.stop()
        command = self.substitute(command)
        words = shlex.split(command)
        assert words[:2] == ["modelship", "serve"], command
        # Loopback only on a shared machine; the README's ports (or their defaults) here.
        words += ["--rest_api_host", "127.0.0.1", "--grpc_host", "127.0.0.1"]
        if "--rest_api_port" not in words:
            words += ["--rest_api_port", str(self.rest_port)]
        if "--port" not in words:
            words += ["--port", str(self.grpc_port)]
        self.log.append("$ " + shlex.join(words))
        log = self.root / f"serve-{block.line}.log"
        words[0] = str(BIN / "modelship")
        self.server = subprocess.Popen(
            words, cwd=self.cwd, env=self.env(), stdout=log.open("wb"), stderr=subprocess.STDOUT
        )
        self.server_block = block.line
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.server.poll() is None, f"serve exited:\n{log.read_text()}"
            try:
                if httpx.get(f"{self.rest_url}/v2/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"serve not ready after {timeout}s:\n{log.read_text()}")

    def stop(self) -> int | None:
        """Stop the running server with SIGTERM; its exit status."""
        server, self.server, self.server_block = self.server, None, None
        if server is None:
            return None
        server.terminate()
        try:
            return server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            return server.wait()
