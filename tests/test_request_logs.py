"""Production traffic back into the lifecycle: a real server logs sampled predicts (its model
config's logging_config); tensorflow-serving-api's PredictionLog reads them; ``modelship logs``
turns them into a version's warm-up file, which the loader runs, and into ``validate --data``."""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from modelship.lifecycle.loader import Loader
from modelship.lifecycle.manager import load_version
from modelship.lifecycle.warmup import read_records
from modelship.registry import ServedVersion
from tests.conftest import BIN, ToyModel, start_server, stop_server

pytestmark = pytest.mark.slow


def test_logged_traffic_becomes_warmup_and_validation_data(
    toy_model: ToyModel, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    prediction_log_pb2 = pytest.importorskip("tensorflow_serving.apis.prediction_log_pb2")
    prefix = tmp_path / "logs" / "toy"
    config = tmp_path / "models.config"
    config.write_text(
        f"""model_config_list {{
  config {{
    name: "toy"
    base_path: "{toy_model.base_path}"
    logging_config {{
      log_collector_config {{ filename_prefix: "{prefix}" }}
      sampling_config {{ sampling_rate: 1.0 }}
    }}
  }}
}}
"""
    )
    server = start_server(["--model_config_file", str(config)], "toy", tmp_path)
    rows = np.random.default_rng(0).random((6, 784)).astype(np.float32)
    try:
        for start in (0, 2, 4):
            body = {"instances": rows[start : start + 2].tolist()}
            answer = httpx.post(f"{server.url}/v1/models/toy:predict", json=body, timeout=10)
            assert answer.status_code == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            files = sorted(prefix.parent.glob("toy.*.tfrecord"))
            if files and len(list(read_records(files[0]))) == 3:
                break
            time.sleep(0.2)
    finally:
        stop_server(server)
    (log_file,) = files
    logs = [prediction_log_pb2.PredictionLog.FromString(r) for r in read_records(log_file)]
    assert [log.log_metadata.model_spec.name for log in logs] == ["toy"] * 3
    first = logs[0].predict_log
    assert list(first.request.inputs) == ["images"]
    images = first.request.inputs["images"]
    assert [d.size for d in images.tensor_shape.dim] == [2, 784]
    np.testing.assert_allclose(np.frombuffer(images.tensor_content, "<f4"), rows[:2].ravel())
    scores = first.response.outputs["probabilities"]
    assert len(np.frombuffer(scores.tensor_content, "<f4")) == 20

    version = tmp_path / "repo" / "toy" / "2"
    shutil.copytree(toy_model.base_path / "1", version)
    cli = str(BIN / "modelship")
    done = subprocess.run(
        [cli, "logs", "warmup", str(log_file), "--version-dir", str(version)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "3 warm-up requests" in done.stdout
    # The loader runs them before the version serves.
    served = ServedVersion(model="toy", version=2, path=version)
    with caplog.at_level(logging.INFO, logger="modelship.lifecycle.warmup"):
        load_version(served, Loader(warmup=True))
    assert served.available, served.error_message
    assert "3 warm-up records read, 3 requests" in caplog.text

    data = tmp_path / "traffic.npz"
    done = subprocess.run(
        [cli, "logs", "eval-data", str(log_file), "--output", str(data)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with np.load(data) as arrays:
        np.testing.assert_allclose(arrays["x"], rows)
        assert (
            arrays["y"].tolist()
            == np.argmax(rows @ toy_model.weight + toy_model.bias, axis=1).tolist()
        )
    done = subprocess.run(
        [cli, "validate", str(version), "--data", str(data), "--min-accuracy", "0.99"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    # The candidate is the serving version's copy: it agrees with every logged answer.
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed" in done.stdout.lower(), done.stdout
