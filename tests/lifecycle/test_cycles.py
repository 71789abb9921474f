"""Twenty publish/unload cycles against a real ``modelship serve`` process: each new version
serves, the one before unloads and is deleted, and the server's memory does not grow with the
count of versions it has served."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import orjson
import psutil

from tests.conftest import start_server, stop_server
from tests.fixtures.toy_models import softmax_linear, write_version
from tests.lifecycle.load import publish
from tests.lifecycle.test_watcher import status, wait_until

BODY = orjson.dumps({"instances": [[0.5] * 784]})
CYCLES = 20
WARM = 3  # cycles before the memory baseline: allocators and caches settle first


def test_twenty_publish_unload_cycles_hold_memory_flat(tmp_path: Path) -> None:
    base = tmp_path / "repo" / "toy"
    model = softmax_linear(784, 10, seed=3)[0]
    write_version(base, 1, model)
    args = ["--model_name", "toy", "--model_base_path", str(base)]
    server = start_server([*args, "--file_system_poll_wait_seconds", "0.1"], "toy", tmp_path)
    try:
        process = psutil.Process(server.process.pid)
        baseline = 0
        for version in range(2, CYCLES + 2):
            publish(base, version, model)
            assert wait_until(
                lambda v=str(version): status(server, "toy").get(v, {}).get("state") == "AVAILABLE"
            )
            assert wait_until(
                lambda v=str(version - 1): status(server, "toy").get(v, {}).get("state") == "END"
            )
            shutil.rmtree(base / str(version - 1))
            answer = httpx.post(f"{server.url}/v1/models/toy:predict", content=BODY)
            assert answer.headers["x-model-version"] == str(version)
            if version == WARM + 1:
                baseline = process.memory_info().rss
        grown = process.memory_info().rss / baseline - 1
    finally:
        stop_server(server)
    assert grown < 0.10, f"RSS grew {grown:.1%} over {CYCLES - WARM} cycles"
    assert "Traceback" not in server.output()
