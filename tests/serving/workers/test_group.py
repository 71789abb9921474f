"""The worker group's shared directory, seen from several workers (pids) at once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from modelship.serving.workers.group import ReloadRecord, WorkerGroup, group_state


@pytest.fixture
def workers(tmp_path: Path) -> tuple[WorkerGroup, WorkerGroup, WorkerGroup]:
    """The supervisor's view and two workers' views of one directory."""
    supervisor = WorkerGroup(tmp_path, pid=1)
    supervisor.set_members([10, 11])
    return supervisor, WorkerGroup(tmp_path, pid=10), WorkerGroup(tmp_path, pid=11)


def test_a_published_reload_is_seen_once_by_each_other_worker(
    workers: tuple[WorkerGroup, WorkerGroup, WorkerGroup],
) -> None:
    _, first, second = workers
    assert second.reload_changed() is None
    record = ReloadRecord("model_config_list {}", file_stamp="abc")
    first.publish_reload(record)
    assert second.reload_changed() == record
    assert second.reload_changed() is None  # unchanged since it was read
    later = ReloadRecord("model_config_list { config { name: 'x' } }", file_stamp=None)
    first.publish_reload(later)
    assert second.reload_changed() == later
    assert later.id != record.id


def test_waiting_for_peers_ends_when_each_applied_or_left(
    workers: tuple[WorkerGroup, WorkerGroup, WorkerGroup],
) -> None:
    supervisor, first, second = workers
    record = ReloadRecord("model_config_list {}", file_stamp=None)
    first.publish_reload(record)
    assert first.wait_for_peers(record.id, timeout=0.1) == [11]
    second.acknowledge("an older reload")
    assert first.wait_for_peers(record.id, timeout=0.1) == [11]

    acknowledged = threading.Thread(target=second.acknowledge, args=(record.id,))
    acknowledged.start()
    assert first.wait_for_peers(record.id, timeout=30) == []
    acknowledged.join()

    newer = ReloadRecord("model_config_list {}", file_stamp=None)
    first.publish_reload(newer)
    supervisor.set_members([10])  # worker 11 died: its replacement starts from the reload
    assert first.wait_for_peers(newer.id, timeout=30) == []


def test_a_later_reload_ends_the_wait_for_an_earlier_one(
    workers: tuple[WorkerGroup, WorkerGroup, WorkerGroup],
) -> None:
    _, first, second = workers
    earlier = ReloadRecord("model_config_list {}", file_stamp=None)
    first.publish_reload(earlier)
    second.publish_reload(ReloadRecord("model_config_list {}", file_stamp=None))
    assert first.wait_for_peers(earlier.id, timeout=30) == []


def test_states_of_live_peers_only(workers: tuple[WorkerGroup, WorkerGroup, WorkerGroup]) -> None:
    supervisor, first, second = workers
    first.publish_states({"toy": {1: "AVAILABLE", 2: "LOADING"}})
    assert second.peer_states() == [{"toy": {1: "AVAILABLE", 2: "LOADING"}}]
    assert first.peer_states() == []  # the second has published nothing yet
    supervisor.set_members([11])
    assert second.peer_states() == []
    assert not (supervisor.directory / "states-10.json").exists()


@pytest.mark.parametrize(
    ("version", "own", "peers", "expected"),
    [
        # Alone, or everyone agrees: the worker's own state.
        (1, {1: "AVAILABLE"}, [], "AVAILABLE"),
        (1, {1: "AVAILABLE"}, [{1: "AVAILABLE"}], "AVAILABLE"),
        (2, {1: "AVAILABLE", 2: "END"}, [{1: "AVAILABLE", 2: "END"}], "END"),
        # A new version served here but still loading, or not yet found, elsewhere.
        (2, {2: "AVAILABLE"}, [{1: "AVAILABLE", 2: "LOADING"}], "LOADING"),
        (2, {2: "AVAILABLE"}, [{1: "AVAILABLE"}], "LOADING"),
        (2, {1: "AVAILABLE"}, [{2: "AVAILABLE"}], "LOADING"),
        (1, {1: "AVAILABLE"}, [{}], "LOADING"),  # a model the other has not loaded yet
        # Mid-swap: the new version is not everywhere yet, the old one still answers somewhere.
        (2, {1: "UNLOADING", 2: "AVAILABLE"}, [{1: "AVAILABLE", 2: "LOADING"}], "LOADING"),
        (1, {1: "UNLOADING", 2: "AVAILABLE"}, [{1: "AVAILABLE", 2: "LOADING"}], "AVAILABLE"),
        (1, {2: "AVAILABLE"}, [{1: "AVAILABLE", 2: "AVAILABLE"}], "AVAILABLE"),
        (1, {1: "END", 2: "AVAILABLE"}, [{1: "AVAILABLE", 2: "AVAILABLE"}], "AVAILABLE"),
        # Nowhere available: this worker's state, else another's.
        (3, {3: "LOADING"}, [{}], "LOADING"),
        (3, {}, [{3: "END"}], "END"),
        (4, {}, [{}], None),
    ],
)
def test_group_state(
    version: int,
    own: dict[int, str],
    peers: list[dict[int, str]],
    expected: str | None,
) -> None:
    assert group_state(version, own, peers) == expected
