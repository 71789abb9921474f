"""Request logging in process: a model's logging_config writes sampled predicts with their
responses as PredictionLog records in TFRecord files, rotated by size; what cannot be written
is dropped, counted and reported, and the request is answered all the same."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from modelship.codecs.tensor_proto import from_tensor_proto
from modelship.lifecycle.config import ModelConfig, RequestLogging, parse_model_config
from modelship.lifecycle.warmup import TFS_WARMUP_FILE, read_records, tfs_warmup_requests
from modelship.protos import tfs_prediction_log_pb2
from modelship.registry import Registry
from modelship.serving.dataplane import DataPlane
from modelship.serving.executor import ThreadExecutor
from modelship.serving.metrics import Metrics
from modelship.serving.requestlog import RequestLogger
from modelship.serving.rest.app import build_app
from modelship.serving.tap import RequestTap
from tests.fixtures.fake_runtime import FakeRuntime, serve_fake

ROWS = [[0.5, 1.0, 2.0], [3.0, 0.0, -1.0]]


class Served:
    def __init__(self, logging: RequestLogging | None, max_file_bytes: int = 1 << 20) -> None:
        self.registry = Registry()
        self.runtime = FakeRuntime()
        serve_fake(self.registry, self.runtime, model="toy")
        self.configs = [ModelConfig("toy", Path("/nonexistent/toy"), logging=logging)]
        self.metrics = Metrics(self.registry)
        self.executor = ThreadExecutor(threads=1)
        dataplane = DataPlane(self.registry, self.executor, self.metrics)
        self.logger = RequestLogger(self.metrics, lambda: self.configs, max_file_bytes)
        self.tap = dataplane.tap = RequestTap([self.logger])
        self.app = build_app(dataplane, max_body_bytes=1 << 20)

    def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        async def run() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://m") as client:
                return await client.request(method, path, json=body)

        return asyncio.run(run())

    def predict(self, times: int) -> None:
        for _ in range(times):
            answer = self.call("POST", "/v1/models/toy:predict", {"instances": ROWS})
            assert answer.status_code == 200, answer.text

    def close(self) -> None:
        self.tap.close()
        self.executor.close()


@pytest.fixture
def logged(tmp_path: Path) -> Iterator[Served]:
    served = Served(RequestLogging(str(tmp_path / "logs" / "toy"), 1.0))
    yield served
    served.close()


def _logs(prefix: Path) -> list[Path]:
    return sorted(prefix.parent.glob(prefix.name + ".*.tfrecord"))


def test_sampled_predicts_are_written_as_prediction_logs(logged: Served, tmp_path: Path) -> None:
    logged.predict(3)
    logged.tap.drain()
    (path,) = _logs(tmp_path / "logs" / "toy")
    records = list(read_records(path))
    assert len(records) == 3
    log = tfs_prediction_log_pb2.PredictionLog.FromString(records[0])
    assert log.log_metadata.model_spec.name == "toy"
    assert log.log_metadata.model_spec.version.value == 1
    assert log.log_metadata.sampling_config.sampling_rate == 1.0
    request, response = log.predict_log.request, log.predict_log.response
    assert request.model_spec.signature_name == "serving_default"
    assert list(request.inputs["x"].tensor_shape.dim[i].size for i in range(2)) == [2, 3]
    np.testing.assert_allclose(from_tensor_proto("x", request.inputs["x"]), ROWS)
    scores = from_tensor_proto("probabilities", response.outputs["probabilities"])
    np.testing.assert_allclose(scores, np.asarray(ROWS) * 2)
    report = logged.call("GET", "/monitoring/request_log").json()["request_logs"]
    assert report == [
        {
            "model": "toy",
            "filename_prefix": str(tmp_path / "logs" / "toy"),
            "sampling_rate": 1.0,
            "records": 3,
            "dropped": 0,
            "files": [str(path)],
            "error": "",
        }
    ]


def test_the_log_replays_as_a_versions_warmup(logged: Served, tmp_path: Path) -> None:
    logged.predict(2)
    logged.tap.drain()
    (path,) = _logs(tmp_path / "logs" / "toy")
    version = tmp_path / "version"
    (version / TFS_WARMUP_FILE).parent.mkdir(parents=True)
    (version / TFS_WARMUP_FILE).write_bytes(path.read_bytes())
    requests = tfs_warmup_requests(version, FakeRuntime())
    assert [name for name, _ in requests] == ["serving_default", "serving_default"]
    np.testing.assert_allclose(requests[0][1]["x"], ROWS)


def test_files_rotate_by_size(tmp_path: Path) -> None:
    served = Served(RequestLogging(str(tmp_path / "toy"), 1.0), max_file_bytes=1024)
    try:
        served.predict(12)
        served.tap.drain()
    finally:
        served.close()
    files = _logs(tmp_path / "toy")
    assert len(files) > 1
    assert all(path.stat().st_size <= 1024 for path in files)
    assert sum(len(list(read_records(path))) for path in files) == 12


def test_an_unwritable_prefix_drops_records_counts_them_and_says_why(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the log directory should be")
    served = Served(RequestLogging(str(blocker / "logs" / "toy"), 1.0))
    try:
        served.predict(2)  # the model serves all the same
        served.tap.drain()
        (entry,) = served.call("GET", "/monitoring/request_log").json()["request_logs"]
        assert entry["records"] == 0
        assert entry["dropped"] == 2
        assert "Not a directory" in entry["error"]
        metrics = served.call("GET", "/metrics").text
        assert 'modelship_request_log_dropped_total{model="toy"} 2.0' in metrics
    finally:
        served.close()


def test_a_model_without_logging_config_writes_nothing(tmp_path: Path) -> None:
    served = Served(None)
    try:
        served.predict(2)
        served.tap.drain()
        assert served.call("GET", "/monitoring/request_log").json() == {"request_logs": []}
        assert not list(tmp_path.iterdir())
    finally:
        served.close()


_CONFIG = """model_config_list {{
  config {{
    name: "toy"
    base_path: "/models/toy"
    logging_config {{
      log_collector_config {{ filename_prefix: "/var/log/toy" }}
      sampling_config {{
        sampling_rate: {rate}
      }}
    }}
  }}
}}
"""


def test_the_config_reads_tf_servings_logging_config() -> None:
    (config,) = parse_model_config(_CONFIG.format(rate=0.25))
    assert config.logging == RequestLogging("/var/log/toy", 0.25)


@pytest.mark.parametrize("rate", ["1.5", "-0.1", "nan"])
def test_a_sampling_rate_outside_0_1_is_refused_with_its_line(rate: str) -> None:
    from modelship.errors import BadConfig

    with pytest.raises(BadConfig) as raised:
        parse_model_config(_CONFIG.format(rate=rate), origin="models.config")
    assert raised.value.message.startswith("models.config:8: model toy: logging_config")
    assert "outside [0, 1]" in raised.value.message


def test_a_logging_config_without_prefix_is_refused() -> None:
    from modelship.errors import BadConfig

    text = _CONFIG.format(rate=0.5).replace('filename_prefix: "/var/log/toy"', "")
    with pytest.raises(BadConfig, match="needs log_collector_config"):
        parse_model_config(text)
