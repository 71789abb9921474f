"""deploy/prometheus/ and its Kubernetes twin: promtool accepts the configurations and rules,
the rules fire on the series they watch (promtool's rule unit tests), and the image runs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.deploy.conftest import ROOT, ImageBuilder, docker

PROMETHEUS = ROOT / "deploy" / "prometheus"
K8S = ROOT / "deploy" / "k8s"


def promtool() -> str:
    """Debian's promtool; outside CI its absence skips, in CI it fails."""
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("MODELSHIP_REQUIRE_DOCKER") == "1":
            pytest.fail("promtool is missing: apt-get install prometheus (.ci/run does)")
        pytest.skip("promtool is missing: apt-get install prometheus")
    return found


def _promtool(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [promtool(), *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def _k8s_config() -> dict[str, Any]:
    document = yaml.safe_load((K8S / "prometheus-config.yaml").read_text())
    assert isinstance(document, dict)
    return document


@pytest.mark.parametrize("name", ["compose.yml", "swarm.yml"])
def test_promtool_accepts_the_configuration(name: str) -> None:
    out = _promtool("check", "config", str(PROMETHEUS / name))
    assert "SUCCESS: 1 rule files found" in out


def test_promtool_accepts_the_rules() -> None:
    out = _promtool("check", "rules", str(PROMETHEUS / "rules.yml"))
    assert "SUCCESS: 7 rules found" in out


def test_the_kubernetes_config_map_holds_the_same_rules_and_a_valid_config(
    tmp_path: Path,
) -> None:
    data = _k8s_config()["data"]
    assert data["rules.yml"] == (PROMETHEUS / "rules.yml").read_text()
    for name, text in data.items():
        (tmp_path / name).write_text(text)
    out = _promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert "SUCCESS: 1 rule files found" in out
    scrape = yaml.safe_load(data["prometheus.yml"])["scrape_configs"][0]
    # The headless Service is what the DNS name resolves.
    headless = yaml.safe_load((K8S / "serving-pods.yaml").read_text())
    assert headless["spec"]["clusterIP"] == "None"
    assert scrape["dns_sd_configs"][0]["names"] == [headless["metadata"]["name"]]


def test_replicas_are_found_by_dns_where_each_deployment_names_them() -> None:
    for name, host in (("compose.yml", "serving"), ("swarm.yml", "tasks.serving")):
        (scrape,) = yaml.safe_load((PROMETHEUS / name).read_text())["scrape_configs"]
        assert scrape["metrics_path"] == "/monitoring/prometheus/metrics"
        assert scrape["dns_sd_configs"] == [
            {"names": [host], "type": "A", "port": 8501, "refresh_interval": "15s"}
        ]
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())["services"]
    assert "compose.yml" in compose["prometheus"]["command"][0]
    stack = yaml.safe_load((ROOT / "deploy" / "stack.yaml").read_text())["services"]
    assert stack["prometheus"]["networks"] == stack["serving"]["networks"]


# promtool's rule unit tests: synthetic series in, the alerts that must (not) fire out.
_RULE_TESTS = """
rule_files: [{rules}]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'modelship_input_drift{{model="mnist",version="7",instance="a:8501"}}'
        values: '0.02x20 0.9x20'
      - series: 'modelship_prediction_drift{{model="mnist",version="7",instance="a:8501"}}'
        values: '0.01x40'
      - series: 'modelship_model_state{{model="mnist",state="AVAILABLE",instance="a:8501"}}'
        values: '1x10 0x30'
      - series: 'up{{job="modelship",instance="a:8501"}}'
        values: '1x20 0x20'
      - series: 'modelship_requests_total{{model="mnist",status="OK",instance="a:8501"}}'
        values: '0+100x40'
      - series: 'modelship_requests_total{{model="mnist",status="INTERNAL",instance="a:8501"}}'
        values: '0+0x20 0+50x20'
    alert_rule_test:
      - eval_time: 15m
        alertname: ModelshipInputDrift
        exp_alerts: []
      - eval_time: 35m
        alertname: ModelshipInputDrift
        exp_alerts:
          - exp_labels: {{severity: warning, model: mnist, version: "7"}}
            exp_annotations:
              summary: "mnist version 7: 90% of input features drifted from training"
      - eval_time: 35m
        alertname: ModelshipPredictionDrift
        exp_alerts: []
      - eval_time: 15m
        alertname: ModelshipNoAvailableVersion
        exp_alerts:
          - exp_labels: {{severity: critical, model: mnist, instance: "a:8501"}}
            exp_annotations:
              summary: "mnist has no AVAILABLE version on a:8501"
              description: "See GET /v1/models/mnist on the replica for each version's state
                and load error."
      - eval_time: 25m
        alertname: ModelshipReplicaDown
        exp_alerts:
          - exp_labels: {{severity: critical, job: modelship, instance: "a:8501"}}
            exp_annotations:
              summary: "replica a:8501 does not answer scrapes"
      - eval_time: 15m
        alertname: ModelshipHighErrorRatio
        exp_alerts: []
      - eval_time: 35m
        alertname: ModelshipHighErrorRatio
        exp_alerts:
          - exp_labels: {{severity: warning, model: mnist}}
            exp_annotations:
              summary: "mnist: 33.33% of requests fail"
"""


def test_the_alerts_fire_on_the_series_they_watch(tmp_path: Path) -> None:
    tests = tmp_path / "rules_test.yml"
    tests.write_text(_RULE_TESTS.format(rules=PROMETHEUS / "rules.yml"))
    out = _promtool("test", "rules", str(tests))
    assert "SUCCESS" in out


@pytest.mark.docker
def test_the_prometheus_image_checks_its_own_configuration(images: ImageBuilder) -> None:
    tag = images.get("prometheus").tag
    for name in ("swarm.yml", "compose.yml"):
        done = docker(
            "run", "--rm", "--entrypoint", "promtool", tag,
            "check", "config", f"/etc/prometheus/modelship/{name}",
        )  # fmt: skip
        assert "SUCCESS: 1 rule files found" in done.stdout + done.stderr
    version = docker("run", "--rm", tag, "--version", check=False)
    assert "prometheus, version 2." in version.stdout + version.stderr
