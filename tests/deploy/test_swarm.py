"""deploy/stack.yaml on a real Swarm: 4 replicas behind HAProxy, a replica killed and a rolling
update under steady load, through 127.0.0.1 only."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import numpy as np
import pytest
from tests.conftest import free_port
from tests.deploy.conftest import ROOT, ImageBuilder, ModelDir, docker, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]

REPLICAS = 4


@pytest.fixture(scope="module")
def model_images(
    images: ImageBuilder, prefix: str, toy_versions: dict[int, ModelDir]
) -> Iterator[dict[int, str]]:
    """``modelship containerize`` images of the toy model, version 1 and version 2."""
    from modelship.containerize import containerize

    serving = images.get("serving").tag
    tags = {}
    try:
        for version, model in toy_versions.items():
            built = containerize(
                model.name, model.base_path, tag=f"{prefix}/toy:{version}", serving_image=serving
            )
            assert built.versions == (version,)
            tags[version] = built.tag
        yield tags
    finally:
        for tag in tags.values():
            docker("rmi", "-f", tag, check=False)


@pytest.fixture(scope="module")
def swarm() -> Iterator[None]:
    """A Swarm manager: this engine, initialised here (and left at the end) only if it was not."""
    state = docker("info", "-f", "{{.Swarm.LocalNodeState}}/{{.Swarm.ControlAvailable}}").stdout
    initialised = False
    if state.strip() == "inactive/false":
        docker("swarm", "init")
        initialised = True
    elif state.strip() != "active/true":
        pytest.fail(f"this engine is in a Swarm but not a manager ({state.strip()})")
    yield
    if initialised:
        docker("swarm", "leave", "--force", check=False)


@dataclass
class Stack:
    name: str
    url: str
    env: dict[str, str]

    @property
    def service(self) -> str:
        return f"{self.name}_serving"

    def deploy(self, **env: str) -> None:
        self.env.update(env)
        docker(
            "stack", "deploy", "--resolve-image", "never", "-c",
            str(ROOT / "deploy" / "stack.yaml"), self.name, env=self.env,
        )  # fmt: skip

    def containers(self) -> list[str]:
        """IDs of the running serving containers."""
        out = docker(
            "ps",
            "-q",
            "--no-trunc",
            "--filter",
            f"label=com.docker.swarm.service.name={self.service}",
        ).stdout
        return out.split()

    def lb_container(self) -> str:
        return docker(
            "ps",
            "-q",
            "--no-trunc",
            "--filter",
            f"label=com.docker.swarm.service.name={self.name}_lb",
        ).stdout.strip()

    def healthy_containers(self) -> list[str]:
        return [
            c
            for c in self.containers()
            if docker("inspect", "-f", "{{.State.Health.Status}}", c, check=False).stdout.strip()
            == "healthy"
        ]

    def status(self) -> dict[str, object]:
        return dict(httpx.get(f"{self.url}/v1/models/toy", timeout=5).json())


@pytest.fixture(scope="module")
def stack(
    swarm: None, images: ImageBuilder, model_images: dict[int, str], prefix: str
) -> Iterator[Stack]:
    port = free_port()
    stack = Stack(prefix, f"http://127.0.0.1:{port}", {})
    stack.deploy(
        SERVING_IMAGE=model_images[1],
        LB_IMAGE=images.get("lb").tag,
        MODEL_NAME="toy",
        LB_PORT=str(port),
    )
    try:
        wait_until(
            lambda: len(stack.healthy_containers()) == REPLICAS,
            300,
            f"{REPLICAS} healthy serving replicas did not come up",
            interval=1,
        )
        # HAProxy finds replicas by DNS and admits each after a passing health check.
        wait_until(
            lambda: _replicas_seen(stack.url, 4 * REPLICAS) == {c[:12] for c in stack.containers()},
            60,
            "the load balancer did not reach every replica",
            interval=1,
        )
        yield stack
    finally:
        docker("stack", "rm", stack.name, check=False)
        wait_until(
            lambda: (
                not docker("network", "ls", "-q", "--filter", f"name={stack.name}_").stdout.strip()
            ),
            120,
            "the stack's network was not removed",
            interval=1,
        )


def _replicas_seen(url: str, requests: int) -> set[str]:
    """The replicas named by ``requests`` model-status answers through the load balancer."""
    seen = set()
    try:
        with httpx.Client(timeout=5) as client:
            for _ in range(requests):
                answer = client.get(f"{url}/v1/models/toy")
                if answer.status_code == 200 and "AVAILABLE" in answer.text:
                    seen.add(answer.headers["x-modelship-replica"])
    except httpx.HTTPError:
        pass
    return seen


@dataclass
class Load:
    """Steady predict traffic (about ``threads / pause`` requests a second, not a flood: the
    node has 2 cores shared with 4 replicas); counts answers, failures and replicas."""

    url: str
    threads: int = 4
    pause: float = 0.02
    ok: int = 0
    failed: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    replicas: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Load:
        body = {"instances": np.random.default_rng(3).random((1, 784)).round(4).tolist()}
        for _ in range(self.threads):
            worker = threading.Thread(target=self._run, args=(body,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=30)

    def _run(self, body: dict[str, object]) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                try:
                    answer = client.post(f"{self.url}/v1/models/toy:predict", json=body)
                    good = answer.status_code == 200 and len(answer.json()["predictions"]) == 1
                    reason = f"HTTP {answer.status_code}"
                    replica = answer.headers.get("x-modelship-replica", "")
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    good, reason, replica = False, type(exc).__name__, ""
                with self._lock:
                    if good:
                        self.ok += 1
                        self.replicas[replica] += 1
                    else:
                        self.failed += 1
                        self.failures[reason] += 1
                self._stop.wait(self.pause)

    @property
    def total(self) -> int:
        return self.ok + self.failed

    def wait_for(self, requests: int, timeout: float = 120) -> None:
        wait_until(lambda: self.total >= requests, timeout, f"{requests} requests were not sent")


def test_requests_reach_all_four_replicas(stack: Stack) -> None:
    seen = Counter()
    with httpx.Client(timeout=10) as client:
        for _ in range(40):
            answer = client.get(f"{stack.url}/v1/models/toy")
            assert answer.status_code == 200
            seen[answer.headers["x-modelship-replica"]] += 1
    containers = {c[:12] for c in stack.containers()}
    assert set(seen) == containers, (seen, containers)
    assert len(seen) == REPLICAS
    assert min(seen.values()) >= 5, seen  # round robin spreads the load


def test_killed_replica_is_replaced_without_failed_requests(stack: Stack) -> None:
    before = stack.containers()
    victim = before[0]
    with Load(stack.url) as load:
        load.wait_for(200)
        docker("kill", victim)
        killed_at = time.monotonic()
        wait_until(
            lambda: (
                len(stack.healthy_containers()) == REPLICAS and victim not in stack.containers()
            ),
            120,
            "Swarm did not replace the killed replica",
            interval=1,
        )
        replaced_after = time.monotonic() - killed_at
        load.wait_for(load.total + 200)
    print(
        f"replica kill: {load.failed} failed of {load.total} requests "
        f"({dict(load.failures)}), replaced in {replaced_after:.0f} s"
    )
    assert load.failed / load.total < 0.005, dict(load.failures)
    assert victim not in stack.containers()
    assert len(set(stack.containers()) - set(before)) == 1


def test_rolling_update_to_a_new_version_fails_no_request(
    stack: Stack, model_images: dict[int, str]
) -> None:
    lb = stack.lb_container()
    with Load(stack.url) as load:
        load.wait_for(200)
        stack.deploy(SERVING_IMAGE=model_images[2])
        wait_until(
            lambda: docker(
                "service", "inspect", "-f", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}",
                stack.service,
            ).stdout.strip() == "completed",
            300,
            "the rolling update did not complete",
            interval=2,
        )  # fmt: skip
        load.wait_for(load.total + 200)
    print(f"rolling update: {load.failed} failed of {load.total} requests ({dict(load.failures)})")
    assert stack.lb_container() == lb, "the load balancer was restarted"
    assert load.failed == 0, dict(load.failures)
    versions = {stack.status()["model_version_status"][0]["version"] for _ in range(20)}  # type: ignore[index]
    assert versions == {"2"}
    assert len(stack.healthy_containers()) == REPLICAS
