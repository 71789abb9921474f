"""The registry: resolving a request to a version (latest, explicit, label), holding it, and
what a request sees while a version is being retired."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from modelship.errors import FailedPrecondition, ModelNotFound, VersionNotFound
from modelship.registry import (
    AVAILABLE,
    END,
    LOADING,
    UNLOADING,
    ModelEntry,
    Registry,
    ServedVersion,
)
from tests.fixtures.fake_runtime import FakeRuntime, serve_fake


@pytest.fixture
def registry() -> Registry:
    """``toy`` versions 1 and 2 AVAILABLE, labels ``stable`` -> 1 and ``canary`` -> 2."""
    registry = Registry()
    serve_fake(registry, FakeRuntime(), version=1)
    serve_fake(registry, FakeRuntime(), version=2)
    registry.model("toy").labels.update(stable=1, canary=2)
    return registry


def _retire(served: ServedVersion) -> None:
    """What the manager does first when it unloads a version."""
    served.state = UNLOADING


def test_resolve_without_a_version_is_the_latest_available(registry: Registry) -> None:
    assert registry.resolve("toy").version == 2


def test_resolve_an_explicit_version_or_a_label(registry: Registry) -> None:
    assert registry.resolve("toy", version=1).version == 1
    assert registry.resolve("toy", label="stable").version == 1
    assert registry.resolve("toy", label="canary").version == 2
    assert registry.resolve_label("toy", "stable") == 1


def test_a_version_and_a_label_together_are_refused(registry: Registry) -> None:
    with pytest.raises(FailedPrecondition, match="either a version or a version label, not both"):
        registry.resolve("toy", version=1, label="stable")


@pytest.mark.parametrize(
    ("name", "version", "label", "error", "message"),
    [
        ("ghost", None, None, ModelNotFound, "Servable not found for request: Latest(ghost)"),
        ("ghost", 1, None, ModelNotFound, "Servable not found for request: Latest(ghost)"),
        ("toy", 3, None, VersionNotFound, "Servable not found for request: Specific(toy, 3)"),
        ("toy", None, "beta", VersionNotFound, "Unrecognized servable version label: beta"),
    ],
)
def test_unknown_models_versions_and_labels_are_not_found(
    registry: Registry,
    name: str,
    version: int | None,
    label: str | None,
    error: type[ModelNotFound],
    message: str,
) -> None:
    with pytest.raises(error) as caught:
        registry.resolve(name, version, label)
    assert caught.value.message == message
    assert caught.value.code == "NOT_FOUND"
    if label is None:  # the Open Inference Protocol's words for the same error
        assert caught.value.v2_message.startswith(f"Request for unknown model: '{name}' ")


def test_triton_words_for_each_unknown_case(registry: Registry) -> None:
    cases = {
        ("ghost", None): "Request for unknown model: 'ghost' is not found",
        ("toy", 3): "Request for unknown model: 'toy' version 3 is not found",
    }
    for (name, version), words in cases.items():
        with pytest.raises(ModelNotFound) as caught:
            registry.resolve(name, version)
        assert caught.value.v2_message == words
    for served in registry.model("toy").versions.values():
        served.state = LOADING
    with pytest.raises(VersionNotFound) as caught:
        registry.resolve("toy")
    assert caught.value.v2_message == "Request for unknown model: 'toy' has no available versions"


def test_a_version_that_is_not_available_is_not_found_with_its_state(registry: Registry) -> None:
    served = registry.model("toy").versions[2]
    served.state, served.error_code, served.error_message = END, "UNKNOWN", "bad weights"
    with pytest.raises(VersionNotFound) as caught:
        registry.resolve("toy", version=2)
    assert caught.value.message == (
        "Servable not found for request: Specific(toy, 2); the version is END: bad weights"
    )
    with pytest.raises(VersionNotFound, match=r"Specific\(toy, 2\); the version is END"):
        registry.resolve("toy", label="canary")
    assert registry.resolve("toy").version == 1  # the latest that is available


def test_no_available_version_lists_the_load_errors(registry: Registry) -> None:
    one, two = registry.model("toy").versions[1], registry.model("toy").versions[2]
    one.state = LOADING
    two.state, two.error_message = END, "missing model.onnx"
    with pytest.raises(VersionNotFound) as caught:
        registry.resolve("toy")
    assert caught.value.message == (
        "Servable not found for request: Latest(toy); no version is AVAILABLE "
        "(2: missing model.onnx)"
    )


def test_an_available_state_without_a_runtime_does_not_serve(registry: Registry) -> None:
    served = registry.model("toy").versions[2]
    served.runtime = None
    assert served.state == AVAILABLE
    assert not served.available
    assert registry.resolve("toy").version == 1
    with pytest.raises(VersionNotFound, match="the version is AVAILABLE"):
        served.require_runtime()


def test_acquire_holds_the_version_until_released(registry: Registry) -> None:
    served = registry.acquire("toy", label="stable")
    other = registry.acquire("toy", version=1)
    assert served is other
    assert served.version == 1
    assert served.holders == 2
    served.release()
    other.release()
    assert served.holders == 0
    assert served.wait_released(timeout=0)


def test_a_held_version_being_retired_is_kept_by_its_holder_and_skipped_by_newcomers(
    registry: Registry,
) -> None:
    held = registry.acquire("toy")
    assert held.version == 2
    _retire(held)
    # The holder still has its runtime; the manager waits for it.
    assert held.require_runtime() is not None
    assert not held.wait_released(timeout=0)
    # A request that comes later finds the version that replaces it.
    newcomer = registry.acquire("toy")
    assert newcomer.version == 1
    with pytest.raises(VersionNotFound, match=r"Specific\(toy, 2\); the version is UNLOADING"):
        registry.acquire("toy", version=2)
    with pytest.raises(VersionNotFound, match="the version is UNLOADING"):
        registry.acquire("toy", label="canary")
    assert held.holders == 1  # the refused attempts hold nothing
    held.release()
    newcomer.release()
    assert held.wait_released(timeout=0)


class _RetiredOnFirstHold(ServedVersion):
    """A version the manager retires between a request's lookup and its hold."""

    def hold(self) -> None:
        super().hold()
        if self.state == AVAILABLE:
            _retire(self)


def test_a_version_retired_between_lookup_and_hold_is_let_go_and_looked_up_again(
    registry: Registry,
) -> None:
    old = registry.model("toy").versions[2]
    racing = _RetiredOnFirstHold(model="toy", version=2, path=old.path)
    racing.runtime, racing.manifest, racing.state = old.runtime, old.manifest, AVAILABLE
    registry.set_version(racing)
    served = registry.acquire("toy")
    assert served.version == 1
    assert served.holders == 1
    assert racing.holders == 0
    assert racing.state == UNLOADING


def test_wait_released_returns_once_the_last_holder_lets_go(registry: Registry) -> None:
    held = registry.acquire("toy")
    go = threading.Event()

    def finish_request() -> None:
        go.wait(10)
        held.release()

    thread = threading.Thread(target=finish_request)
    thread.start()
    go.set()
    assert held.wait_released(timeout=10)
    thread.join()
    assert held.holders == 0


def test_add_model_keeps_versions_and_updates_the_base_path(registry: Registry) -> None:
    entry = registry.add_model("toy", Path("/elsewhere/toy"))
    assert entry is registry.model("toy")
    assert entry.base_path == Path("/elsewhere/toy")
    assert sorted(entry.versions) == [1, 2]
    assert [m.name for m in registry.models()] == ["toy"]


def test_drop_version_and_remove_model(registry: Registry) -> None:
    registry.drop_version("toy", 2)
    registry.drop_version("toy", 9)  # unknown: nothing to drop
    assert sorted(registry.model("toy").versions) == [1]
    assert registry.resolve("toy").version == 1
    removed = registry.remove_model("toy")
    assert isinstance(removed, ModelEntry)
    assert removed.name == "toy"
    assert registry.remove_model("toy") is None
    assert registry.models() == []
    with pytest.raises(ModelNotFound):
        registry.resolve("toy")


def test_set_version_of_an_unknown_model_is_refused() -> None:
    with pytest.raises(ModelNotFound, match="Latest\\(ghost\\)"):
        Registry().set_version(ServedVersion(model="ghost", version=1, path=Path("/m/ghost/1")))


def test_latest_available_of_an_entry_without_versions_is_none() -> None:
    assert ModelEntry(name="toy", base_path=Path("/m/toy")).latest_available() is None
