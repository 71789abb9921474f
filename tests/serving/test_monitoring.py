"""``--monitoring_config_file``: where Prometheus metrics are served, as TF Serving decides it."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelship.errors import BadConfig
from modelship.serving.monitoring import (
    DEFAULT_METRICS_PATHS,
    TF_SERVING_METRICS_PATH,
    metrics_paths,
    parse_monitoring_config,
)


def test_without_a_file_metrics_are_at_tf_servings_path_and_slash_metrics() -> None:
    assert metrics_paths(None) == DEFAULT_METRICS_PATHS
    assert DEFAULT_METRICS_PATHS == ("/monitoring/prometheus/metrics", "/metrics")
    assert DEFAULT_METRICS_PATHS[0] == TF_SERVING_METRICS_PATH


@pytest.mark.parametrize(
    ("text", "paths"),
    [
        ('prometheus_config { enable: true path: "/custom/metrics" }', ("/custom/metrics",)),
        ("prometheus_config { enable: true }", (TF_SERVING_METRICS_PATH,)),
        ('prometheus_config { enable: true path: "" }', (TF_SERVING_METRICS_PATH,)),
        ('prometheus_config {\n  enable: true,\n  path: "/m"\n}\n', ("/m",)),
        ('prometheus_config { enable: false path: "/custom/metrics" }', ()),
        ('prometheus_config { path: "/custom/metrics" }', ()),  # not enabled
        ("", ()),
        ("# only a comment\n", ()),
    ],
)
def test_the_config_decides_the_one_path_or_none(text: str, paths: tuple[str, ...]) -> None:
    assert parse_monitoring_config(text) == paths


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prometheus_config { enable: yes }", r"^<monitoring config>: 1:"),
        ("prometheus_config { enable: true", r"^<monitoring config>: "),
        ("unknown_field: 1", r"unknown_field"),
        (
            'prometheus_config { enable: true path: "metrics" }',
            r"""prometheus_config path must start with "/", got 'metrics'""",
        ),
    ],
)
def test_a_bad_config_is_refused_saying_where(text: str, message: str) -> None:
    with pytest.raises(BadConfig, match=message):
        parse_monitoring_config(text)


def test_a_file_is_read_and_named_in_errors(tmp_path: Path) -> None:
    good = tmp_path / "monitoring.config"
    good.write_text('prometheus_config { enable: true path: "/prom" }')
    assert metrics_paths(good) == ("/prom",)
    bad = tmp_path / "bad.config"
    bad.write_text("prometheus_config { enable: maybe }")
    with pytest.raises(BadConfig, match=f"^{bad}: 1:"):
        metrics_paths(bad)


def test_a_missing_file_is_a_bad_config_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "absent.config"
    with pytest.raises(BadConfig) as caught:
        metrics_paths(missing)
    assert caught.value.message == (
        f"cannot read --monitoring_config_file {missing}: No such file or directory"
    )
