"""Container health check: exit 0 only when the served model has an AVAILABLE version.

TF Serving's model status answers 200 even while nothing is loaded, so a probe must read the
``state`` field. This module uses only the standard library so that Docker's HEALTHCHECK and a
Kubernetes exec probe start it in milliseconds: ``python -m modelship.healthcheck``.

Environment: ``MODEL_NAME`` (default ``model``), ``MODELSHIP_HEALTHCHECK_URL`` (default
``http://127.0.0.1:${REST_API_PORT:-8501}``).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

__all__ = ["check", "main"]


def check(base_url: str, model_name: str, timeout: float = 2.0) -> tuple[bool, str]:
    """Ask the server for the model's status.

    Args:
        base_url: REST endpoint, e.g. ``http://127.0.0.1:8501``.
        model_name: the served model.
        timeout: seconds to wait for the answer.

    Returns:
        ``(healthy, reason)``: healthy when at least one version is AVAILABLE.
    """
    url = f"{base_url.rstrip('/')}/v1/models/{model_name}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = json.load(response)
    except urllib.error.HTTPError as exc:
        return False, f"{url} answered {exc.code}"
    except (OSError, ValueError) as exc:
        return False, f"{url} unreachable or not JSON: {exc}"
    versions = status.get("model_version_status", []) if isinstance(status, dict) else []
    available = [v.get("version") for v in versions if v.get("state") == "AVAILABLE"]
    if available:
        return True, f"{model_name} versions {', '.join(map(str, available))} AVAILABLE"
    states = ", ".join(f"{v.get('version')}={v.get('state')}" for v in versions) or "none"
    return False, f"{model_name} has no AVAILABLE version (versions: {states})"


def main() -> int:
    """Run the check with settings from the environment; print why; 0 healthy, 1 not."""
    port = os.environ.get("REST_API_PORT", "8501")
    base_url = os.environ.get("MODELSHIP_HEALTHCHECK_URL", f"http://127.0.0.1:{port}")
    healthy, reason = check(base_url, os.environ.get("MODEL_NAME", "model"))
    print(reason)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
