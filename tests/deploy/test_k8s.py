"""deploy/k8s/: valid against Kubernetes' own schemas (offline, strict) and consistent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from tests.deploy.conftest import ROOT

from modelship.lifecycle.config import parse_model_config

K8S = ROOT / "deploy" / "k8s"
# The oldest Kubernetes release still commonly run, and the newest the validator knows.
VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]


def _load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((K8S / name).read_text())
    assert isinstance(document, dict)
    return document


def _manifests() -> list[Path]:
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    return [K8S / name for name in listed]


def test_kustomization_lists_every_manifest() -> None:
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert {p.name for p in _manifests()} == on_disk


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", _manifests(), ids=lambda p: p.name)
def test_manifest_is_valid(path: Path, version: str) -> None:
    document = yaml.safe_load(path.read_text())
    kubernetes_validate.validate(document, version, strict=True)


def test_validator_rejects_a_misspelt_field() -> None:
    deployment = _load("deployment.yaml")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)


def test_deployment_serves_safely() -> None:
    deployment = _load("deployment.yaml")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert spec["replicas"] == 4
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    tmp = next(v for v in pod["volumes"] if v["name"] == "tmp")
    assert "emptyDir" in tmp
    assert {"mountPath": "/tmp", "name": "tmp"} in container["volumeMounts"]
    # Readiness reads the model state, not just a 200 from the status endpoint.
    assert container["readinessProbe"]["exec"]["command"][-1] == "modelship.healthcheck"
    assert container["resources"]["limits"]["memory"]
    assert container["resources"]["requests"]["cpu"]


def test_service_hpa_and_pdb_select_the_deployment() -> None:
    deployment = _load("deployment.yaml")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    service, hpa, pdb = _load("service.yaml"), _load("hpa.yaml"), _load("pdb.yaml")
    assert service["spec"]["selector"].items() <= labels.items()
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["minAvailable"] < deployment["spec"]["replicas"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] == deployment["spec"]["replicas"]
    ports = {p["name"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} == ports


def test_configmap_holds_a_model_config_the_server_reads() -> None:
    data = _load("configmap.yaml")["data"]
    (model,) = parse_model_config(data["models.config"])
    assert model.name == data["MODEL_NAME"]
    deployment = _load("deployment.yaml")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "config")
    assert f"--model_config_file={mount['mountPath']}/models.config" in container["args"]
