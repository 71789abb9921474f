"""``modelship.json``: written and read back whole, unknown keys kept, defaults for old files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelship.errors import BadConfig
from modelship.manifest import FORMAT_VERSION, MANIFEST_NAME, Manifest, manifest_schema
from modelship.signature import Signature, TensorSpec

PREDICT = Signature(
    inputs={"images": TensorSpec("float32", (-1, 784))},
    outputs={"probabilities": TensorSpec("float32", (-1, 10))},
)
CLASSIFY = Signature(
    inputs={"images": TensorSpec("float32", (-1, 784))},
    outputs={"scores": TensorSpec("float32", (-1, 10))},
    method_name="tensorflow/serving/classify",
    name="classify",
)


def _manifest() -> Manifest:
    return Manifest(
        name="mnist",
        framework="torch",
        signatures={"serving_default": PREDICT, "classify": CLASSIFY},
        artifacts={"onnx": "model.onnx"},
        labels=[str(i) for i in range(10)],
        metrics={"test_accuracy": 0.97, "history": [{"epoch": 1, "loss": 0.3}]},
        parameters={"epochs": 2, "seed": 0},
        data={"name": "mnist", "fingerprint": "abc"},
        preprocessing={"kind": "image"},
        code_version={"modelship": "1.0", "commit": "deadbeef"},
        framework_versions={"torch": "2.5"},
        created_at="2024-01-02T03:04:05Z",
        version=3,
        extra={"warmup": {"inputs": {"images": [[0.0] * 784]}}},
    )


def test_write_then_read_gives_back_the_same_manifest(tmp_path: Path) -> None:
    manifest = _manifest()
    path = manifest.write(tmp_path)
    assert path == tmp_path / MANIFEST_NAME == tmp_path / "modelship.json"
    assert path.read_text().endswith("}\n")
    assert Manifest.read(tmp_path) == manifest


def test_json_carries_the_format_and_every_field() -> None:
    data = _manifest().to_json()
    assert data["format"] == FORMAT_VERSION == 1
    assert data["signatures"]["classify"]["method_name"] == "tensorflow/serving/classify"
    assert data["warmup"] == {"inputs": {"images": [[0.0] * 784]}}
    assert set(data) == {
        "format", "name", "version", "framework", "artifacts", "signatures", "labels",
        "metrics", "parameters", "data", "preprocessing", "code_version",
        "framework_versions", "created_at", "warmup",
    }  # fmt: skip


def test_unknown_keys_are_kept_but_never_override_known_ones() -> None:
    manifest = Manifest.from_json({"name": "m", "future_key": [1, 2], "format": 9})
    assert manifest.extra == {"future_key": [1, 2]}
    manifest.extra["name"] = "shadow"  # an extra that collides with a field loses to it
    data = manifest.to_json()
    assert data["future_key"] == [1, 2]
    assert data["name"] == "m"
    assert data["format"] == FORMAT_VERSION


def test_a_minimal_file_reads_with_defaults() -> None:
    manifest = Manifest.from_json({})
    assert (manifest.name, manifest.framework, manifest.version) == ("", "", 0)
    assert manifest.signatures == {}
    assert manifest.labels == []
    assert manifest.extra == {}


def test_signature_names_come_from_their_keys_and_labels_are_strings() -> None:
    manifest = Manifest.from_json(
        {
            "signatures": {"predict_images": {"inputs": {}, "outputs": {}}},
            "labels": [0, 1, "two"],
            "version": "4",
        }
    )
    assert manifest.signatures["predict_images"].name == "predict_images"
    assert manifest.labels == ["0", "1", "two"]
    assert manifest.version == 4


def test_the_default_signature_is_serving_default_else_the_first() -> None:
    assert _manifest().default_signature is PREDICT
    only = Manifest(name="m", framework="torch", signatures={"classify": CLASSIFY})
    assert only.default_signature is CLASSIFY


def test_a_manifest_without_signatures_has_no_default() -> None:
    with pytest.raises(StopIteration):
        _ = Manifest(name="m", framework="torch", signatures={}).default_signature


def test_read_of_a_directory_without_a_manifest_fails(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Manifest.read(tmp_path)


def test_the_written_file_is_plain_indented_json(tmp_path: Path) -> None:
    path = _manifest().write(tmp_path)
    text = path.read_text()
    assert text.startswith('{\n  "warmup"')  # extras first, then the known fields
    assert json.loads(text)["name"] == "mnist"


def test_the_schema_ships_with_the_package_and_accepts_what_is_written(tmp_path: Path) -> None:
    schema = manifest_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    assert "signatures" in schema["properties"]
    _manifest().write(tmp_path)
    assert Manifest.read(tmp_path).name == "mnist"


@pytest.mark.parametrize(
    ("data", "where", "why"),
    [
        ({"version": "7"}, "at version", "'7' is not of type 'integer'"),
        ({"labels": "0123"}, "at labels", "is not of type 'array'"),
        (
            {"signatures": {"serving_default": {"inputs": {}}}},
            "at signatures/serving_default",
            "'outputs' is a required property",
        ),
        (
            {"signatures": {"s": {"inputs": {"x": {"dtype": "f", "shape": []}}, "outputs": {}}}},
            "at signatures/s/inputs/x/dtype",
            "'f' is not one of",
        ),
        ({"artifacts": {"onnx": 1}}, "at artifacts/onnx", "1 is not of type 'string'"),
    ],
)
def test_a_file_failing_the_schema_is_refused_with_where_and_why(
    tmp_path: Path, data: dict[str, object], where: str, why: str
) -> None:
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(data))
    with pytest.raises(BadConfig) as refused:
        Manifest.read(tmp_path)
    message = refused.value.message
    assert message.startswith(f"{tmp_path / MANIFEST_NAME} does not follow the modelship.json")
    assert where in message
    assert why in message


def test_a_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    (tmp_path / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(BadConfig, match="is not valid JSON"):
        Manifest.read(tmp_path)
