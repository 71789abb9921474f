"""The manager in process: a fake loader and runtime, an injected clock, no sleeps."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from modelship.errors import FailedPrecondition
from modelship.lifecycle.config import ModelConfig
from modelship.lifecycle.loader import Loaded, Loader
from modelship.lifecycle.manager import Manager, ServableState, load_version, unload_version
from modelship.lifecycle.source import AspiredVersions
from modelship.registry import Registry, ServedVersion


class FakeRuntime:
    signatures: dict[str, object] = {}  # noqa: RUF012 - read only

    def __init__(self, version: int) -> None:
        self.version = version
        self.closed = False

    def close(self) -> None:
        self.closed = True


class FakeLoader(Loader):
    """Loads any version at once; the versions in ``failing`` raise."""

    def __init__(self, failing: set[int] | None = None) -> None:
        object.__setattr__(self, "failing", failing or set())
        object.__setattr__(self, "calls", [])

    def load(
        self,
        served: ServedVersion,
        runtime: str | None = None,
        previous: ServedVersion | None = None,
    ) -> Loaded:
        self.calls.append(served.version)  # type: ignore[attr-defined]
        if served.version in self.failing:  # type: ignore[attr-defined]
            raise FailedPrecondition(f"version {served.version} is broken")
        return Loaded(FakeRuntime(served.version), None)  # type: ignore[arg-type]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 0.25  # every reading: a load seen by the log takes 0.25 s
        return self.now


@pytest.fixture
def config(tmp_path: Path) -> ModelConfig:
    return ModelConfig(name="toy", base_path=tmp_path / "toy")


@pytest.fixture
def loader() -> FakeLoader:
    return FakeLoader()


@pytest.fixture
def manager(loader: FakeLoader) -> Manager:
    return Manager(Registry(), loader, clock=Clock())


def aspire(config: ModelConfig, *versions: int, **labels: int) -> AspiredVersions:
    return AspiredVersions(config, frozenset(versions), dict(labels))


def states(manager: Manager) -> dict[int, str]:
    return {v: s.state for v, s in sorted(manager.registry.model("toy").versions.items())}


def test_a_held_version_unloads_only_once_its_last_request_released_it(
    manager: Manager, config: ModelConfig
) -> None:
    manager.reconcile(aspire(config, 1))
    first = manager.registry.acquire("toy")
    second = manager.registry.acquire("toy")
    runtime = first.runtime
    manager.reconcile(aspire(config, 1, 2))
    # Not available any more: new requests go to version 2, the held ones keep version 1.
    assert states(manager) == {1: "UNLOADING", 2: "AVAILABLE"}
    assert manager.registry.acquire("toy").version == 2
    assert first.runtime is runtime
    first.release()
    assert not manager.wait_unloads(timeout=0.05)
    assert first.runtime is runtime  # one request still holds it
    second.release()
    assert manager.wait_unloads(timeout=30)
    assert states(manager) == {1: "END", 2: "AVAILABLE"}
    assert first.runtime is None


def test_a_failing_load_ends_in_end_while_the_serving_version_keeps_serving(
    manager: Manager, loader: FakeLoader, config: ModelConfig
) -> None:
    manager.reconcile(aspire(config, 1))
    loader.failing.add(2)  # type: ignore[attr-defined]
    manager.reconcile(aspire(config, 1, 2))
    failed = manager.registry.model("toy").versions[2]
    assert (failed.state, failed.error_code) == ("END", "FAILED_PRECONDITION")
    assert failed.error_message == "version 2 is broken"
    assert manager.registry.resolve("toy").version == 1
    # Remembered until its files change: the next pass does not try it again.
    manager.reconcile(aspire(config, 1, 2))
    assert loader.calls == [1, 2]  # type: ignore[attr-defined]
    assert states(manager) == {1: "AVAILABLE", 2: "END"}


def test_the_swap_keeps_a_version_available_at_every_state_change(
    manager: Manager, config: ModelConfig
) -> None:
    seen: list[tuple[ServableState, set[int]]] = []

    def record(event: ServableState) -> None:
        entry = manager.registry.model("toy")
        seen.append((event, {v for v, s in entry.versions.items() if s.available}))

    manager.monitor.subscribe(record)
    manager.reconcile(aspire(config, 1))
    for versions in ((1, 2), (2, 3), (4,)):
        manager.reconcile(aspire(config, *versions))
        assert manager.wait_unloads(timeout=30)
    first_available = next(i for i, (e, _) in enumerate(seen) if e.state == "AVAILABLE")
    assert all(available for _, available in seen[first_available:])
    assert [(e.version, e.state) for e, _ in seen[:3]] == [
        (1, "START"),
        (1, "LOADING"),
        (1, "AVAILABLE"),
    ]
    # Versions gone from the repository leave the registry once unloaded.
    assert states(manager) == {4: "AVAILABLE"}


def test_a_ready_gate_runs_before_the_version_serves_and_may_refuse_it(
    manager: Manager, config: ModelConfig
) -> None:
    gated: list[tuple[int, int | None, bool]] = []

    def gate(served: ServedVersion, previous: ServedVersion | None) -> None:
        gated.append((served.version, previous.version if previous else None, served.available))
        if served.version == 3:
            raise FailedPrecondition("the other workers refuse it")

    manager.add_gate(gate)
    manager.reconcile(aspire(config, 1))
    manager.reconcile(aspire(config, 1, 2, 3))
    assert gated == [(1, None, False), (3, 1, False), (2, 1, False)]
    assert manager.registry.model("toy").versions[3].error_message == (
        "the other workers refuse it"
    )
    # latest{1} falls back to the newest version that works.
    assert manager.registry.resolve("toy").version == 2


def test_labels_move_only_to_available_versions(manager: Manager, config: ModelConfig) -> None:
    manager.reconcile(aspire(config, 1, 2, stable=1, canary=7))
    entry = manager.registry.model("toy")
    assert states(manager) == {1: "AVAILABLE", 2: "AVAILABLE"}  # a label's version loads too
    assert entry.labels == {"stable": 1}


def test_a_removed_model_leaves_the_registry_and_unloads(
    manager: Manager, config: ModelConfig
) -> None:
    manager.reconcile(aspire(config, 1))
    served = manager.registry.model("toy").versions[1]
    manager.remove_model("toy")
    assert manager.wait_unloads(timeout=30)
    assert manager.registry.models() == []
    assert (served.state, served.runtime) == ("END", None)


def test_load_times_come_from_the_injected_clock(
    manager: Manager, config: ModelConfig, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="modelship.lifecycle"):
        manager.reconcile(aspire(config, 1))
    assert "loaded toy version 1 from" in caplog.text
    assert "in 0.25s" in caplog.text


def test_load_and_unload_one_version_outside_a_manager(tmp_path: Path) -> None:
    served = ServedVersion(model="toy", version=1, path=tmp_path)
    changes: list[str] = []
    load_version(served, FakeLoader(), changed=lambda s: changes.append(s.state))
    runtime = served.runtime
    assert served.available
    unload_version(served, changed=lambda s: changes.append(s.state))
    assert changes == ["LOADING", "AVAILABLE", "UNLOADING", "END"]
    assert runtime is not None
    assert runtime.closed  # type: ignore[attr-defined]
