"""The source: aspired versions from the repository, the policy, the labels and the failures."""

from __future__ import annotations

from pathlib import Path

from modelship.lifecycle.config import ModelConfig, VersionPolicy
from modelship.lifecycle.labels import LabelsFile
from modelship.lifecycle.source import FailedVersions, ModelSource
from modelship.settings import ServeSettings


def repository(tmp_path: Path, *versions: int) -> Path:
    base = tmp_path / "toy"
    for version in versions:
        (base / str(version)).mkdir(parents=True)
        (base / str(version) / "model.onnx").write_bytes(b"x")
    return base


def test_labels_json_overrides_the_config_labels(tmp_path: Path) -> None:
    base = repository(tmp_path, 1, 2, 3)
    labels = LabelsFile()
    labels.promote("stable", 2)
    labels.write(base)
    config = ModelConfig(name="toy", base_path=base, labels={"stable": 1, "old": 1})
    aspired = ModelSource(ServeSettings(), [config]).aspired(config)
    assert aspired.on_disk == {1, 2, 3}
    assert aspired.labels == {"stable": 2, "old": 1}
    assert aspired.wanted(FailedVersions()) == {1, 2, 3}


def test_a_broken_labels_file_is_ignored(tmp_path: Path) -> None:
    base = repository(tmp_path, 1)
    (base / "labels.json").write_text("{not json")
    config = ModelConfig(name="toy", base_path=base, labels={"stable": 1})
    assert ModelSource(ServeSettings(), [config]).aspired(config).labels == {"stable": 1}


def test_a_failed_version_is_no_candidate_until_its_files_change(tmp_path: Path) -> None:
    base = repository(tmp_path, 1, 2)
    config = ModelConfig(name="toy", base_path=base, policy=VersionPolicy("latest"))
    aspired = ModelSource(ServeSettings(), [config]).aspired(config)
    failed = FailedVersions()
    failed.record("toy", 2, base / "2")
    assert aspired.wanted(failed) == {1}
    (base / "2" / "model.onnx").write_bytes(b"fixed")
    assert aspired.wanted(failed) == {2}


def test_set_configs_says_which_models_left(tmp_path: Path) -> None:
    a, b = ModelConfig(name="a", base_path=tmp_path), ModelConfig(name="b", base_path=tmp_path)
    source = ModelSource(ServeSettings(), [a, b])
    assert source.set_configs([b]) == ["a"]
    assert source.configs == [b]


def test_the_config_file_is_reported_only_when_it_changed(tmp_path: Path) -> None:
    path = tmp_path / "models.config"
    path.write_text("model_config_list { config { name: 'a' base_path: '/m/a' } }")
    settings = ServeSettings(model_config_file=path)
    source = ModelSource(settings, [ModelConfig(name="a", base_path=Path("/m/a"))])
    stamp = source.file_stamp()
    assert source.changed_config_file() is None
    path.write_text("model_config_list { config { name: 'b' base_path: '/m/b' } }")
    assert [c.name for c in source.changed_config_file() or []] == ["b"]
    assert source.file_stamp() != stamp
    assert source.changed_config_file() is None
    assert ModelSource(ServeSettings(), []).file_stamp() is None
