"""TF Serving's TensorFlow flags on a real ``modelship serve`` process: ``--saved_model_tags``
picks the meta graph, ``--tensorflow_session_parallelism`` sizes both thread pools."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

pytest.importorskip("tensorflow")

from tests.conftest import start_server, stop_server
from tests.fixtures.tf_models import write_tagged_savedmodel

pytestmark = pytest.mark.tensorflow


def test_a_savedmodel_tagged_otherwise_is_served_with_its_tags(tmp_path: Path) -> None:
    base = tmp_path / "tagged"
    write_tagged_savedmodel(base / "1", ["custom", "cpu"])
    server = start_server(
        [
            "--model_name=tagged",
            f"--model_base_path={base}",
            "--saved_model_tags=cpu,custom",
            "--tensorflow_session_parallelism=2",
            "--port=0",
        ],
        "tagged",
        tmp_path,
        timeout=240,
    )
    try:
        x = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]], dtype=np.float32)
        answer = httpx.post(
            f"{server.url}/v1/models/tagged:predict", json={"instances": x.tolist()}, timeout=60
        )
        assert answer.status_code == 200, answer.text
        np.testing.assert_allclose(answer.json()["predictions"], 2 * x + 1)
        assert "TensorFlow runs ops on 2 intra-op and 2 inter-op threads" in server.output()
    finally:
        stop_server(server)
