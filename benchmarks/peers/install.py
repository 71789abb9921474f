"""Creates each peer's own virtual environment from its pinned requirements file, once."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

__all__ = ["PEERS_DIR", "ensure_peer", "peer_python"]

HERE = Path(__file__).resolve().parent
PEERS_DIR = HERE.parent / ".peers"


def peer_python(name: str) -> Path:
    """The interpreter of peer ``name``'s environment."""
    return PEERS_DIR / name / "bin" / "python"


def ensure_peer(name: str) -> Path:
    """Install ``peers/<name>.txt`` into ``.peers/<name>`` unless already done; its python.

    A stamp named after the requirements' hash makes a changed pin reinstall.
    """
    requirements = HERE / f"{name}.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    venv = PEERS_DIR / name
    stamp = venv / f".installed-{digest}"
    python = peer_python(name)
    if stamp.exists():
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    print(f"installing {name} into {venv} (pinned by {requirements.name})", flush=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-r", str(requirements)],
        check=True,
    )
    for old in venv.glob(".installed-*"):
        old.unlink()
    stamp.touch()
    return python
