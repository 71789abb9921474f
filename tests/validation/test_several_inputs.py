"""Validation of a model with two named inputs (a float and an int64 one), fed from a .npz."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from typer.testing import CliRunner

from modelship.cli import _register, app
from modelship.errors import BadConfig
from modelship.validation import Report, validate
from modelship.validation.data import load_eval_data
from tests.conftest import RunningServer, start_server, stop_server
from tests.fixtures.toy_models import two_in_two_out, write_version

N_ROWS, N_CATEGORIES, N_CLASSES = 200, 4, 3
WIDE = {"COLUMNS": "400"}  # rich wraps the error message at the terminal's width


def tabular(weight: np.ndarray, table: np.ndarray) -> onnx.ModelProto:
    """``softmax(amount @ weight + table[category])``: two inputs, one of them int64 ids."""
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["amount", "W"], ["dense"]),
            helper.make_node("Gather", ["E", "category"], ["embedded"]),
            helper.make_node("Add", ["dense", "embedded"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["scores"], axis=1),
        ],
        "tabular",
        [
            helper.make_tensor_value_info("amount", TensorProto.FLOAT, ["batch", 2]),
            helper.make_tensor_value_info("category", TensorProto.INT64, ["batch"]),
        ],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", N_CLASSES])],
        initializer=[
            numpy_helper.from_array(weight.astype(np.float32), "W"),
            numpy_helper.from_array(table.astype(np.float32), "E"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


@dataclass
class Tabular:
    base: Path  # model "tab": 1 (the candidate) and 2 (a slightly different serving version)
    data: Path  # eval.npz: amount, category, y


@pytest.fixture(scope="module")
def tab(tmp_path_factory: pytest.TempPathFactory) -> Tabular:
    rng = np.random.default_rng(7)
    weight = rng.normal(size=(2, N_CLASSES))
    table = rng.normal(size=(N_CATEGORIES, N_CLASSES))
    base = tmp_path_factory.mktemp("tabular") / "tab"
    write_version(base, 1, tabular(weight, table))
    write_version(base, 2, tabular(weight + rng.normal(scale=0.01, size=weight.shape), table))
    amount = rng.normal(size=(N_ROWS, 2)).astype(np.float32)
    category = rng.integers(0, N_CATEGORIES, size=N_ROWS).astype(np.int64)
    y = np.argmax(amount @ weight + table[category], axis=1)  # the candidate's own answers
    data = base.parent / "eval.npz"
    np.savez(data, amount=amount, category=category, y=y)
    return Tabular(base, data)


@pytest.fixture(scope="module")
def tab_server(tab: Tabular, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(
        ["--model_name", "tab", "--model_base_path", str(tab.base)],
        "tab",
        tmp_path_factory.mktemp("tab-server"),
    )
    yield server
    stop_server(server)


def test_each_input_is_fed_by_name(tab: Tabular) -> None:
    data = load_eval_data(str(tab.data))
    assert list(data.inputs) == ["amount", "category"]
    assert data.inputs["category"].dtype == np.int64
    report = validate(tab.base / "1", data, tab.base / "2")
    assert report.passed, report.failures()
    assert report.metrics["accuracy"] == 1.0
    assert report.metrics["agreement"] > 0.95
    assert report.data["n"] == N_ROWS


def test_differential_against_a_running_server(tab: Tabular, tab_server: RunningServer) -> None:
    local = validate(tab.base / "1", load_eval_data(str(tab.data)), tab.base / "2")
    served = validate(
        tab.base / "1", load_eval_data(str(tab.data)), f"{tab_server.url}/v1/models/tab"
    )
    assert served.passed, served.failures()
    assert served.metrics["baseline_accuracy"] == local.metrics["baseline_accuracy"]


@pytest.mark.parametrize(
    ("arrays", "problem"),
    [
        ({"amount"}, "missing category"),
        ({"amount", "category", "colour"}, "not inputs of the model: colour"),
        ({"x"}, "missing amount, category"),
    ],
)
def test_wrong_input_names_name_the_expected_inputs(
    tab: Tabular, tmp_path: Path, arrays: set[str], problem: str
) -> None:
    with np.load(tab.data) as full:
        given = {name: full[name] if name in full else full["amount"] for name in arrays}
        np.savez(tmp_path / "eval.npz", y=full["y"], **given)
    with pytest.raises(BadConfig) as caught:
        validate(tab.base / "1", load_eval_data(str(tmp_path / "eval.npz")))
    assert "takes the inputs amount, category" in caught.value.message
    assert problem in caught.value.message


def test_labels_are_required(tab: Tabular, tmp_path: Path) -> None:
    with np.load(tab.data) as full:
        np.savez(tmp_path / "eval.npz", amount=full["amount"], category=full["category"])
    with pytest.raises(BadConfig, match="labels as y"):
        load_eval_data(str(tmp_path / "eval.npz"))


def test_command_validates_and_refuses_by_name(tab: Tabular, tmp_path: Path) -> None:
    _register()
    candidate = tab.base / "1"
    done = CliRunner().invoke(app, ["validate", str(candidate), "--data", str(tab.data)])
    assert done.exit_code == 0, done.output
    report = Report.read(candidate)
    assert report is not None
    assert report.passed
    with np.load(tab.data) as full:
        np.savez(tmp_path / "eval.npz", amount=full["amount"], y=full["y"])
    refused = CliRunner().invoke(
        app, ["validate", str(candidate), "--data", str(tmp_path / "eval.npz")], env=WIDE
    )
    assert refused.exit_code == 2
    assert "takes the inputs amount, category" in refused.output


@pytest.mark.parametrize("batch", [1, 2])
def test_a_fixed_batch_model_is_fed_its_batch(tmp_path: Path, batch: int) -> None:
    write_version(tmp_path / "pair", 1, two_in_two_out(batch=batch))
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))  # 5: a last block short of 2
    np.savez(tmp_path / "eval.npz", a=a, b=b, y=np.argmax(a + b, axis=1))
    report = validate(tmp_path / "pair" / "1", load_eval_data(str(tmp_path / "eval.npz")))
    assert report.metrics["accuracy"] == 1.0
    assert report.data["n"] == 5
