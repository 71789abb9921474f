"""Warm-up: requests run on a freshly loaded version before it takes traffic.

The first inference on a new session allocates its buffers and picks its kernels; doing that
before the version is ``AVAILABLE`` keeps the cost off the first users' requests (the latency
spikes TF Serving users report while a version loads). The requests come from, in order:

1. ``assets.extra/warmup.json`` in the version directory,
2. a ``warmup`` key in ``modelship.json``,
3. otherwise one synthesised example per signature: zeros of each input's dtype and shape,
   variable dimensions set to 1.

Recorded requests are a JSON object or a list of them:
``{"signature_name": "serving_default", "inputs": {"images": [[0.0, ...]]}}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from modelship.errors import BadConfig
from modelship.manifest import Manifest
from modelship.runtimes.base import Arrays, Runtime
from modelship.serving.inputs import conform_inputs
from modelship.signature import DEFAULT_SIGNATURE, Signature

__all__ = ["WARMUP_FILE", "run_warmup", "warmup_requests"]

WARMUP_FILE = Path("assets.extra") / "warmup.json"


def warmup_requests(
    path: Path, manifest: Manifest | None, runtime: Runtime
) -> list[tuple[str, Arrays]]:
    """The (signature name, inputs) pairs to run on the version at ``path``."""
    recorded: Any = None
    if (path / WARMUP_FILE).is_file():
        try:
            recorded = json.loads((path / WARMUP_FILE).read_text())
        except ValueError as exc:
            raise BadConfig(f"{path / WARMUP_FILE} is not valid JSON: {exc}") from exc
    elif manifest is not None and "warmup" in manifest.extra:
        recorded = manifest.extra["warmup"]
    if recorded is None:
        return [
            (name, _zeros(signature))
            for name, signature in runtime.signatures.items()
            if all(spec.dtype not in ("object", "bytes") for spec in signature.inputs.values())
        ]
    items = recorded if isinstance(recorded, list) else [recorded]
    requests = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("inputs"), dict):
            raise BadConfig(f'warm-up requests of {path} must be objects with an "inputs" object')
        name = str(item.get("signature_name") or DEFAULT_SIGNATURE)
        requests.append((name, {k: np.asarray(v) for k, v in item["inputs"].items()}))
    return requests


def run_warmup(path: Path, manifest: Manifest | None, runtime: Runtime) -> int:
    """Run every warm-up request; returns how many ran.

    Raises:
        BadConfig: a request names an unknown signature or fails; the version must not serve.
    """
    requests = warmup_requests(path, manifest, runtime)
    for index, (name, inputs) in enumerate(requests):
        if name not in runtime.signatures:
            raise BadConfig(f"warm-up request {index} names unknown signature {name!r}")
        try:
            runtime.predict(name, conform_inputs(runtime.signatures[name], inputs))
        except Exception as exc:  # whatever the runtime raises, this version cannot serve
            raise BadConfig(f"warm-up request {index} failed: {exc}") from exc
    return len(requests)


def _zeros(signature: Signature) -> Arrays:
    return {
        name: np.zeros(tuple(d if d > 0 else 1 for d in spec.shape), dtype=spec.numpy_dtype)
        for name, spec in signature.inputs.items()
    }
