"""``--model_config_file`` in TF Serving's text format."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelship.errors import BadConfig
from modelship.lifecycle.config import (
    ModelConfig,
    VersionPolicy,
    configs_from_settings,
    parse_model_config,
    read_model_config_file,
)
from modelship.settings import ServeSettings

# TF Serving's documented example shape, with single quotes as its docs write them.
CONFIG = """
model_config_list {
  config {
    name: 'mnist'
    base_path: '/models/mnist'
    model_platform: 'tensorflow'
    model_version_policy { specific { versions: 1 versions: 2 } }
    version_labels { key: 'stable' value: 1 }
    version_labels { key: 'canary' value: 2 }
  }
  config {
    name: "digits"
    base_path: "digits"
    model_platform: "onnx"
    model_version_policy { latest { num_versions: 2 } }
  }
  config { name: "any" base_path: "/m/any" model_version_policy { all {} } }
}
"""


def test_parses_models_policies_and_labels() -> None:
    configs = parse_model_config(CONFIG, root=Path("/etc/ms"))
    assert configs == [
        ModelConfig(
            name="mnist",
            base_path=Path("/models/mnist"),
            runtime="tensorflow",
            policy=VersionPolicy("specific", versions=(1, 2)),
            labels={"stable": 1, "canary": 2},
        ),
        ModelConfig(
            name="digits",
            base_path=Path("/etc/ms/digits"),
            runtime="onnx",
            policy=VersionPolicy("latest", num_versions=2),
        ),
        ModelConfig(name="any", base_path=Path("/m/any"), policy=VersionPolicy("all")),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model_config_list { config { name: 'a' } }", "no base_path"),
        ("model_config_list { config { base_path: '/a' } }", "has no name"),
        (
            "model_config_list { config { name: 'a' base_path: '/a' } "
            "config { name: 'a' base_path: '/b' } }",
            "configured twice",
        ),
        (
            "model_config_list { config { name: 'a' base_path: '/a' model_platform: 'caffe' } }",
            "caffe",
        ),
        ("model_config_list { config { name: 'a' base_path: '/a' nme: 'x' } }", "nme"),
        ("model_config_list { config { name: 'a' base_path: '/a' ", "1:"),
        (
            "model_config_list { config { name: 'a' base_path: '/a' "
            "model_version_policy { specific {} } } }",
            "model a: specific",
        ),
    ],
)
def test_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(BadConfig, match=message):
        parse_model_config(text, origin="models.config")


def test_from_settings(tmp_path: Path) -> None:
    single = configs_from_settings(ServeSettings(model_name="m", model_base_path=tmp_path))
    assert single == [ModelConfig(name="m", base_path=tmp_path)]
    path = tmp_path / "models.config"
    path.write_text(CONFIG)
    settings = ServeSettings(model_config_file=path)
    assert [c.name for c in configs_from_settings(settings)] == ["mnist", "digits", "any"]
    with pytest.raises(BadConfig, match="cannot read"):
        read_model_config_file(tmp_path / "missing.config")
