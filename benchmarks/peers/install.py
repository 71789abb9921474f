"""Creates each peer's own virtual environment from its pinned requirements file, once."""

from __future__ import annotations

import fcntl
import hashlib
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

__all__ = ["PEERS", "PEERS_DIR", "ensure_peer", "ensure_peers", "installed", "peer_python"]

HERE = Path(__file__).resolve().parent
PEERS_DIR = HERE.parent / ".peers"
# the pip processes installing now: stopped when the run is interrupted
_RUNNING: set[subprocess.Popen[bytes]] = set()
# every peer environment, by the name of its requirements file
PEERS = ("kserve", "mlserver", "litserve", "pytriton", "bentoml", "torchserve")


def peer_python(name: str) -> Path:
    """The interpreter of peer ``name``'s environment."""
    return PEERS_DIR / name / "bin" / "python"


def _stamp(name: str) -> Path:
    # named after the requirements' hash: a changed pin reinstalls
    digest = hashlib.sha256((HERE / f"{name}.txt").read_bytes()).hexdigest()[:16]
    return PEERS_DIR / name / f".installed-{digest}"


def installed(name: str) -> bool:
    """Whether peer ``name``'s environment holds its current pins."""
    return _stamp(name).exists()


def ensure_peer(name: str) -> Path:
    """Install ``peers/<name>.txt`` into ``.peers/<name>`` unless already done; its python.

    A lock file serialises installs of one peer: a second run waits for the first's.
    """
    requirements = HERE / f"{name}.txt"
    venv = PEERS_DIR / name
    python = peer_python(name)
    if installed(name):
        return python
    PEERS_DIR.mkdir(parents=True, exist_ok=True)
    with (PEERS_DIR / f".{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed(name):  # another run installed it while this one waited
            return python
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        print(f"installing {name} into {venv} (pinned by {requirements.name})", flush=True)
        command = [str(python), "-m", "pip", "install", "-q", "-r", str(requirements)]
        with subprocess.Popen(command) as pip:
            _RUNNING.add(pip)
            try:
                if pip.wait() != 0:
                    raise subprocess.CalledProcessError(pip.returncode, command)
            finally:
                _RUNNING.discard(pip)
        for old in venv.glob(".installed-*"):
            old.unlink()
        _stamp(name).touch()
    return python


def ensure_peers(names: tuple[str, ...] = PEERS, parallel: int = 3) -> dict[str, str]:
    """Install every missing peer environment, ``parallel`` at a time (downloads overlap);
    returns each installed peer's outcome ("42 s" or the error), for the run's notes."""

    def one(name: str) -> str:
        started = time.monotonic()
        try:
            ensure_peer(name)
        except (subprocess.CalledProcessError, OSError) as exc:
            return f"failed: {exc}"
        return f"{time.monotonic() - started:.0f} s"

    missing = [n for n in names if not installed(n)]
    pool = ThreadPoolExecutor(max_workers=max(1, parallel))
    try:
        return dict(zip(missing, pool.map(one, missing), strict=True))
    except BaseException:  # Ctrl-C or SIGTERM: pip must not go on installing behind the run
        pool.shutdown(wait=False, cancel_futures=True)
        for pip in list(_RUNNING):
            pip.terminate()
        raise
    finally:
        pool.shutdown(wait=True)
