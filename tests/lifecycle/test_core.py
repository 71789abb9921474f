"""The lifecycle driven poll by poll in-process: policies, labels and unloads, step by step."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from modelship.errors import BadConfig
from modelship.lifecycle import Lifecycle
from modelship.lifecycle.config import ModelConfig, VersionPolicy
from modelship.lifecycle.labels import LabelsFile
from modelship.registry import Registry
from modelship.settings import ServeSettings
from tests.fixtures.toy_models import softmax_linear, write_version


def states(registry: Registry, name: str = "toy") -> dict[int, str]:
    return {v: s.state for v, s in sorted(registry.model(name).versions.items())}


def settle(lifecycle: Lifecycle) -> None:
    lifecycle.poll()
    # No request holds a version here: each unload the poll started finishes at once.
    assert lifecycle.manager.wait_unloads(timeout=30)


def make(tmp_path: Path, versions: list[int], **kwargs: object) -> tuple[Lifecycle, Registry]:
    base = tmp_path / "toy"
    for version in versions:
        write_version(base, version, softmax_linear(784, 10, seed=version)[0])
    registry = Registry()
    config = ModelConfig(name="toy", base_path=base, **kwargs)  # type: ignore[arg-type]
    lifecycle = Lifecycle(registry, ServeSettings(), [config])
    return lifecycle, registry


def test_latest_two_keeps_two_and_warms_up(tmp_path: Path) -> None:
    lifecycle, registry = make(tmp_path, [1, 2, 3], policy=VersionPolicy("latest", num_versions=2))
    settle(lifecycle)
    assert states(registry) == {2: "AVAILABLE", 3: "AVAILABLE"}
    assert registry.resolve("toy").version == 3
    write_version(tmp_path / "toy", 4, softmax_linear(784, 10, seed=4)[0])
    settle(lifecycle)
    assert states(registry) == {2: "END", 3: "AVAILABLE", 4: "AVAILABLE"}
    assert registry.model("toy").versions[2].runtime is None  # memory released


def test_deleted_version_serves_until_its_replacement_is_ready(tmp_path: Path) -> None:
    lifecycle, registry = make(tmp_path, [1, 2])
    settle(lifecycle)
    assert states(registry) == {2: "AVAILABLE"}
    shutil.rmtree(tmp_path / "toy" / "2")
    settle(lifecycle)
    assert states(registry) == {1: "AVAILABLE"}


def test_labels_need_an_available_version_unless_allowed(tmp_path: Path) -> None:
    lifecycle, registry = make(tmp_path, [1, 2], labels={"stable": 1, "later": 9})
    settle(lifecycle)
    # The label's version is loaded beside the policy's; a label on a missing version is not set.
    assert states(registry) == {1: "AVAILABLE", 2: "AVAILABLE"}
    assert registry.model("toy").labels == {"stable": 1}
    labels = LabelsFile()
    labels.promote("stable", 2)
    labels.write(tmp_path / "toy")
    settle(lifecycle)
    assert registry.model("toy").labels == {"stable": 2}
    assert states(registry) == {1: "END", 2: "AVAILABLE"}

    allowing = Lifecycle(
        Registry(),
        ServeSettings(allow_version_labels_for_unavailable_models=True),
        lifecycle.source.configs,
    )
    settle(allowing)
    assert allowing.registry.model("toy").labels == {"stable": 2, "later": 9}


def test_recorded_warmup_runs_and_a_failing_one_keeps_the_version_out(tmp_path: Path) -> None:
    lifecycle, registry = make(tmp_path, [1])
    settle(lifecycle)
    good = write_version(tmp_path / "toy", 2, softmax_linear(784, 10, seed=2)[0])
    (good / "assets.extra").mkdir()
    (good / "assets.extra" / "warmup.json").write_text(
        json.dumps([{"inputs": {"images": [[0.0] * 784, [1.0] * 784]}}])
    )
    settle(lifecycle)
    assert states(registry) == {1: "END", 2: "AVAILABLE"}
    bad = write_version(tmp_path / "toy", 3, softmax_linear(784, 10, seed=3)[0])
    (bad / "assets.extra").mkdir()
    (bad / "assets.extra" / "warmup.json").write_text(json.dumps({"inputs": {"pixels": [[0.0]]}}))
    settle(lifecycle)
    failed = registry.model("toy").versions[3]
    assert failed.state == "END"
    assert "warm-up request 0 failed" in failed.error_message
    assert "missing input(s) images" in failed.error_message
    assert registry.resolve("toy").version == 2


def test_disabled_warmup_runs_no_request(tmp_path: Path) -> None:
    # A warm-up request that would fail: the version serves only because none runs.
    version = write_version(tmp_path / "toy", 1, softmax_linear(784, 10, seed=1)[0])
    (version / "assets.extra").mkdir()
    (version / "assets.extra" / "warmup.json").write_text(json.dumps({"inputs": {"x": [[0.0]]}}))
    config = ModelConfig(name="toy", base_path=tmp_path / "toy")
    for enabled, state in ((True, "END"), (False, "AVAILABLE")):
        registry = Registry()
        settle(Lifecycle(registry, ServeSettings(enable_model_warmup=enabled), [config]))
        assert states(registry) == {1: state}


def test_a_model_config_file_change_replaces_the_model_list(tmp_path: Path) -> None:
    for name in ("a", "b"):
        write_version(tmp_path / name, 1, softmax_linear(784, 10, seed=1)[0])
    config_file = tmp_path / "models.config"
    config_file.write_text("model_config_list { config { name: 'a' base_path: 'a' } }")
    settings = ServeSettings(model_config_file=config_file)
    registry = Registry()
    lifecycle = Lifecycle(registry, settings, [ModelConfig(name="a", base_path=tmp_path / "a")])
    settle(lifecycle)
    config_file.write_text("model_config_list { config { name: 'b' base_path: 'b' } }")
    lifecycle.reload_config_file()
    assert lifecycle.manager.wait_unloads(timeout=30)
    assert [e.name for e in registry.models()] == ["b"]
    assert states(registry, "b") == {1: "AVAILABLE"}
    # A broken file keeps the models served.
    config_file.write_text("model_config_list { config { name: ")
    lifecycle.reload_config_file()
    assert [e.name for e in registry.models()] == ["b"]


def test_reload_replaces_the_model_list(tmp_path: Path) -> None:
    lifecycle, registry = make(tmp_path, [1])
    settle(lifecycle)
    write_version(tmp_path / "other", 3, softmax_linear(784, 10, seed=3)[0])
    lifecycle.reload([ModelConfig(name="other", base_path=tmp_path / "other")])
    assert [e.name for e in registry.models()] == ["other"]
    assert registry.resolve("other").version == 3
    assert lifecycle.peer_states() == []  # alone: no other process to speak for


def test_a_model_without_a_servable_version_is_refused_at_start(tmp_path: Path) -> None:
    lifecycle, _ = make(tmp_path, [])
    settle(lifecycle)
    with pytest.raises(BadConfig, match="no model version found under"):
        lifecycle.require_available()


def _thread_priorities() -> dict[int, int]:
    """The nice value of each thread of this process (Linux)."""
    found = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        found[int(task.name)] = int(fields[16])
    return found


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="Linux's /proc is needed")
def test_a_version_the_watcher_loads_computes_at_the_process_priority(tmp_path: Path) -> None:
    base = tmp_path / "toy"
    write_version(base, 1, softmax_linear(784, 10, seed=1)[0])
    registry = Registry()
    # Two intra-op threads: onnxruntime starts a thread pool with each session it opens.
    settings = ServeSettings(file_system_poll_wait_seconds=0.1, intra_op_threads=2)
    lifecycle = Lifecycle(registry, settings, [ModelConfig(name="toy", base_path=base)])
    lifecycle.poll()
    before = set(_thread_priorities())
    lifecycle.start()
    try:
        write_version(base, 2, softmax_linear(784, 10, seed=2)[0])
        deadline = time.monotonic() + 60
        while states(registry).get(2) != "AVAILABLE":
            assert time.monotonic() < deadline, states(registry)
            time.sleep(0.05)
        priorities = _thread_priorities()
    finally:
        lifecycle.stop()
    new_threads = {t: nice for t, nice in priorities.items() if t not in before}
    assert new_threads, "the new version's session started no threads"
    assert set(new_threads.values()) == {os.getpriority(os.PRIO_PROCESS, 0)}
