"""Warm-up: requests run on a freshly loaded version before it takes traffic.

The first inference on a new session allocates its buffers and picks its kernels; doing that
before the version is ``AVAILABLE`` keeps the cost off the first users' requests (the latency
spikes TF Serving users report while a version loads). The requests come from, in order:

1. TF Serving's ``assets.extra/tf_serving_warmup_requests`` (see
   :mod:`modelship.lifecycle.tfs_warmup`), each record run ``iterations`` times as TF Serving's
   ``--num_request_iterations_for_warmup`` asks,
2. then modelship's own: ``assets.extra/warmup.json`` in the version directory, else a
   ``warmup`` key in ``modelship.json``,
3. when neither source holds a request, one synthesised example per signature: zeros of each
   input's dtype and shape, variable dimensions set to 1.

Recorded requests are a JSON object or a list of them:
``{"signature_name": "serving_default", "inputs": {"images": [[0.0, ...]]}}``.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from modelship.codecs.conform import conform_inputs
from modelship.errors import BadConfig
from modelship.lifecycle.tfs_warmup import tfs_warmup_requests
from modelship.manifest import Manifest
from modelship.runtimes.base import Arrays, Runtime
from modelship.signature import DEFAULT_SIGNATURE, Signature

__all__ = ["WARMUP_FILE", "run_warmup", "warmup_requests"]

WARMUP_FILE = Path("assets.extra") / "warmup.json"

logger = logging.getLogger(__name__)


def warmup_requests(
    path: Path, manifest: Manifest | None, runtime: Runtime, iterations: int = 1
) -> list[tuple[str, Arrays]]:
    """The (signature name, inputs) pairs to run on the version at ``path``, in order.

    Args:
        iterations: how many times each record of TF Serving's warm-up file runs.

    Raises:
        BadConfig: a warm-up file is unreadable or malformed.
    """
    tfs = tfs_warmup_requests(path, runtime)
    own = _own_requests(path, manifest)
    if not tfs and own is None:
        return [
            (name, _zeros(signature))
            for name, signature in runtime.signatures.items()
            if all(spec.dtype not in ("object", "bytes") for spec in signature.inputs.values())
        ]
    # Each record ``iterations`` times in a row, as TF Serving runs them.
    return [request for request in tfs for _ in range(iterations)] + (own or [])


def _own_requests(path: Path, manifest: Manifest | None) -> list[tuple[str, Arrays]] | None:
    """modelship's recorded requests: warmup.json, else the manifest's key; None: neither."""
    recorded: Any = None
    if (path / WARMUP_FILE).is_file():
        try:
            recorded = json.loads((path / WARMUP_FILE).read_text())
        except ValueError as exc:
            raise BadConfig(f"{path / WARMUP_FILE} is not valid JSON: {exc}") from exc
    elif manifest is not None and "warmup" in manifest.extra:
        recorded = manifest.extra["warmup"]
    if recorded is None:
        return None
    items = recorded if isinstance(recorded, list) else [recorded]
    requests = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("inputs"), dict):
            raise BadConfig(f'warm-up requests of {path} must be objects with an "inputs" object')
        name = str(item.get("signature_name") or DEFAULT_SIGNATURE)
        requests.append((name, {k: np.asarray(v) for k, v in item["inputs"].items()}))
    return requests


def run_warmup(path: Path, manifest: Manifest | None, runtime: Runtime, iterations: int = 1) -> int:
    """Run every warm-up request; returns how many ran.

    Args:
        iterations: how many times each record of TF Serving's warm-up file runs (TF Serving's
            ``--num_request_iterations_for_warmup``); 0 runs none of them.

    Raises:
        BadConfig: a warm-up file is malformed, or a request names an unknown signature or
            fails; the version must not serve.
    """
    started = time.monotonic()
    requests = warmup_requests(path, manifest, runtime, iterations)
    for index, (name, inputs) in enumerate(requests):
        if name not in runtime.signatures:
            raise BadConfig(f"warm-up request {index} names unknown signature {name!r}")
        try:
            runtime.predict(name, conform_inputs(runtime.signatures[name], inputs))
        except Exception as exc:  # whatever the runtime raises, this version cannot serve
            raise BadConfig(f"warm-up request {index} failed: {exc}") from exc
    logger.info(
        "warmed up %s with %d requests in %.3fs", path, len(requests), time.monotonic() - started
    )
    return len(requests)


def _zeros(signature: Signature) -> Arrays:
    return {
        name: np.zeros(tuple(d if d > 0 else 1 for d in spec.shape), dtype=spec.numpy_dtype)
        for name, spec in signature.inputs.items()
    }
