"""``modelship predict`` for any signature: several named inputs, several outputs, integers."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import BIN, RunningServer, start_server, stop_server
from tests.fixtures.toy_models import embedding_lookup, two_in_two_out, write_version


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    base = tmp_path_factory.mktemp("predict")
    write_version(base / "pair", 1, two_in_two_out())
    write_version(base / "ids", 1, embedding_lookup())
    (base / "models.config").write_text(
        "model_config_list { "
        f"config {{ name: 'pair' base_path: '{base / 'pair'}' }} "
        f"config {{ name: 'ids' base_path: '{base / 'ids'}' }} }}"
    )
    server = start_server(["--model_config_file", str(base / "models.config")], "pair", base)
    yield server
    stop_server(server)


def predict(server: RunningServer, model: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "modelship"), "predict", "--url", server.url, "--model", model, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )


A = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], np.float32)
B = np.array([[0.5, 0.5, 0.5], [2.0, 2.0, 2.0]], np.float32)


def _rows(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if "sum=" in line]


def test_several_named_inputs_print_every_output(server: RunningServer, tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", A)
    np.save(tmp_path / "b.npy", B)
    done = predict(
        server, "pair", "--input", f"a={tmp_path / 'a.npy'}", "--input", f"b={tmp_path / 'b.npy'}"
    )
    assert done.returncode == 0, done.stderr
    rows = _rows(done.stdout)
    assert len(rows) == 2
    for row, a, b in zip(rows, A, B, strict=True):
        assert f"sum={json.dumps((a + b).tolist())}" in row
        assert f"product={json.dumps((a * b).tolist())}" in row


def test_an_npz_or_a_json_object_names_the_inputs(server: RunningServer, tmp_path: Path) -> None:
    np.savez(tmp_path / "pair.npz", a=A, b=B)
    (tmp_path / "pair.json").write_text(json.dumps({"a": A[:1].tolist(), "b": B[:1].tolist()}))
    done = predict(server, "pair", str(tmp_path / "pair.npz"), str(tmp_path / "pair.json"))
    assert done.returncode == 0, done.stderr
    assert len(_rows(done.stdout)) == 3


def test_mistakes_are_named_not_tracebacks(server: RunningServer, tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", A)
    one_file = predict(server, "pair", str(tmp_path / "a.npy"))
    assert one_file.returncode == 1
    assert "--input NAME=FILE" in one_file.stderr
    missing = predict(server, "pair", "--input", f"a={tmp_path / 'a.npy'}")
    assert missing.returncode == 1
    assert "missing --input for b" in missing.stderr
    np.savez(tmp_path / "wrong.npz", a=A, c=B)
    wrong = predict(server, "pair", str(tmp_path / "wrong.npz"))
    assert "missing b; unknown c" in wrong.stderr
    assert "Traceback" not in one_file.stderr + missing.stderr + wrong.stderr


def test_integer_inputs_travel_as_integers(server: RunningServer, tmp_path: Path) -> None:
    np.save(tmp_path / "ids.npy", np.array([[0, 1, 9]], np.int64))
    done = predict(server, "ids", str(tmp_path / "ids.npy"))
    assert done.returncode == 0, done.stderr
    assert "vectors=[[0.0, 1.0], [2.0, 3.0], [18.0, 19.0]]" in done.stdout
    (tmp_path / "frac.json").write_text("[[0, 1, 2.5]]")
    refused = predict(server, "ids", str(tmp_path / "frac.json"))
    assert refused.returncode == 1
    assert "server error 400" in refused.stderr
    assert "2.5" in refused.stderr
