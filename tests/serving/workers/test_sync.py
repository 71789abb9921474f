"""Several worker processes behave as one server: reloads reach every worker, status speaks for
all of them, new versions switch together. Real ``modelship serve --workers 2`` processes, where
every check opens fresh connections, which the kernel spreads over the workers; and lifecycles
in process for what a replacement worker starts from."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import orjson
import pytest

from modelship.lifecycle import Lifecycle, start_lifecycle
from modelship.lifecycle.config import ModelConfig, config_text, parse_model_config
from modelship.registry import Registry, ServedVersion
from modelship.serving.workers.group import WorkerGroup
from modelship.serving.workers.sync import GroupSync
from modelship.settings import ServeSettings
from tests.conftest import RunningServer, start_server, stop_server
from tests.fixtures.toy_models import half_plus_two, softmax_linear, write_version
from tests.lifecycle.load import publish
from tests.lifecycle.test_watcher import BODY, wait_until
from tests.serving.workers.test_supervisor import _workers

pytest.importorskip("tensorflow_serving.apis")
from tensorflow_serving.apis import (
    get_model_status_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
)

# Enough fresh connections that both workers answer some (all on one worker: 2**-19).
CONNECTIONS = 20
HALF_BODY = orjson.dumps({"instances": [1.0, 2.0]})


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("group-repo")
    write_version(root / "toy", 1, softmax_linear(784, 10, seed=1)[0])
    write_version(root / "half", 1, half_plus_two())
    (root / "models.config").write_text(
        "model_config_list { config { name: 'toy' base_path: 'toy' model_platform: 'onnx' } }\n"
    )
    return root


@pytest.fixture(scope="module")
def server(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(
        [
            "--model_config_file",
            str(repo / "models.config"),
            "--file_system_poll_wait_seconds",
            "0.2",
            "--workers",
            "2",
        ],
        "toy",
        tmp_path_factory.mktemp("server"),
    )
    assert wait_until(lambda: running.output().count("REST API at") == 2, timeout=60)
    yield running
    stop_server(running)
    running.process.wait(timeout=60)


def _fresh_channel(target: str) -> grpc.Channel:
    # A channel of its own connection: by default channels share connections to one target.
    return grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])


def _grpc_states(server: RunningServer, model: str) -> dict[int, int] | grpc.StatusCode:
    """version -> state from GetModelStatus over a new connection, or the error code."""
    with _fresh_channel(server.grpc_target) as channel:
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = model
        try:
            reply = stub.GetModelStatus(request, timeout=10)
        except grpc.RpcError as exc:
            return exc.code()  # type: ignore[no-any-return]
    return {s.version: s.state for s in reply.model_version_status}


def _rest(server: RunningServer, method: str, path: str, body: bytes = b"") -> httpx.Response:
    """One request on a new connection (no client: httpx opens and closes one per call)."""
    if method == "GET":
        return httpx.get(f"{server.url}{path}", timeout=10)
    return httpx.post(f"{server.url}{path}", content=body, timeout=10)


def _reload(server: RunningServer, repo: Path, models: list[str]) -> None:
    request = model_management_pb2.ReloadConfigRequest()
    for name in models:
        config = request.config.model_config_list.config.add(
            name=name, base_path=str(repo / name), model_platform="onnx"
        )
        if name == "half":
            config.version_labels["stable"] = 1
    with _fresh_channel(server.grpc_target) as channel:
        reply = model_service_pb2_grpc.ModelServiceStub(channel).HandleReloadConfigRequest(
            request, timeout=60
        )
    assert reply.status.error_code == 0, reply.status.error_message


AVAILABLE = get_model_status_pb2.ModelVersionStatus.AVAILABLE


def test_a_reload_received_by_one_worker_is_served_by_every_worker(
    server: RunningServer, repo: Path
) -> None:
    assert _rest(server, "GET", "/v1/models/half").status_code == 404
    _reload(server, repo, ["toy", "half"])
    # The reply comes once every worker serves the new list: no waiting from here on.
    for _ in range(CONNECTIONS):
        assert _grpc_states(server, "half") == {1: AVAILABLE}
        labelled = _rest(server, "GET", "/v1/models/half/labels/stable")
        assert labelled.status_code == 200, labelled.text
        answer = _rest(server, "POST", "/v1/models/half:predict", HALF_BODY)
        assert answer.json() == {"predictions": [2.5, 3.0]}

    _reload(server, repo, ["half"])
    for _ in range(CONNECTIONS):
        assert _grpc_states(server, "toy") == grpc.StatusCode.NOT_FOUND
        assert _rest(server, "POST", "/v1/models/toy:predict", BODY).status_code == 404


def test_a_replacement_worker_serves_the_reloaded_list(server: RunningServer, repo: Path) -> None:
    _reload(server, repo, ["toy", "half"])
    victim = min(_workers(server))
    os.kill(victim, signal.SIGKILL)
    assert wait_until(lambda: victim not in _workers(server))
    assert wait_until(lambda: server.output().count("REST API at") == 3, timeout=60)
    assert "serving the reloaded model list: toy, half" in server.output()
    for _ in range(CONNECTIONS):
        assert _grpc_states(server, "half") == {1: AVAILABLE}
        assert _rest(server, "POST", "/v1/models/toy:predict", BODY).status_code == 200


def test_a_published_version_is_available_only_once_every_worker_serves_it(
    server: RunningServer, repo: Path
) -> None:
    def reported_available() -> bool:
        states = _rest(server, "GET", "/v1/models/toy").json()["model_version_status"]
        return any(s["version"] == "2" and s["state"] == "AVAILABLE" for s in states)

    assert not reported_available()
    publish(repo / "toy", 2, softmax_linear(784, 10, seed=2)[0])
    assert wait_until(reported_available)
    # Whichever worker said so spoke for both: every connection now reaches version 2.
    for _ in range(CONNECTIONS):
        answer = _rest(server, "POST", "/v1/models/toy:predict", BODY)
        assert answer.headers["x-model-version"] == "2"


def test_a_worker_holds_a_new_version_until_the_others_have_loaded_it(
    server: RunningServer, repo: Path
) -> None:
    early, late = sorted(_workers(server))
    os.kill(late, signal.SIGSTOP)  # it cannot look at the repository, let alone load
    try:
        publish(repo / "toy", 3, softmax_linear(784, 10, seed=3)[0])
        assert wait_until(
            lambda: f"[{early}]: holding toy version 3 until" in server.output(), timeout=30
        )
    finally:
        os.kill(late, signal.SIGCONT)
    assert wait_until(lambda: server.output().count("loaded toy version 3 from") == 2)
    log = server.output()
    # The early worker started serving version 3 only once the late one had it loaded.
    assert log.index(f"[{early}]: loaded toy version 3 from") > log.index(
        f"[{late}]: holding toy version 3 until"
    )
    for _ in range(CONNECTIONS):
        answer = _rest(server, "POST", "/v1/models/toy:predict", BODY)
        assert answer.headers["x-model-version"] == "3"


def test_a_reload_holds_for_new_workers_until_the_config_file_changes(
    repo: Path, tmp_path: Path
) -> None:
    """In process: each "worker" is a lifecycle with its own registry and pid in the group."""
    config_file = tmp_path / "models.config"
    config_file.write_text(
        f"model_config_list {{ config {{ name: 'toy' base_path: '{repo}/toy' }} }}"
    )
    settings = ServeSettings(model_config_file=config_file, file_system_poll_wait_seconds=0)
    supervisor = WorkerGroup(tmp_path, pid=1)

    def worker(pid: int) -> set[str]:
        """Start worker ``pid`` beside the earlier ones; the models it serves."""
        supervisor.set_members([*supervisor.members(), pid])
        lifecycle = start_lifecycle(Registry(), settings, GroupSync(WorkerGroup(tmp_path, pid=pid)))
        lifecycle.stop()
        return {entry.name for entry in lifecycle.registry.models()}

    supervisor.set_members([10])
    receiver = start_lifecycle(Registry(), settings, GroupSync(WorkerGroup(tmp_path, pid=10)))
    text = f"model_config_list {{ config {{ name: 'half' base_path: '{repo}/half' }} }}"
    receiver.reload(parse_model_config(text))
    receiver.stop()
    assert {e.name for e in receiver.registry.models()} == {"half"}
    assert worker(11) == {"half"}  # a replacement serves what the others serve

    # Once the file itself changes, its list is in force again, as in one process.
    config_file.write_text(config_file.read_text().replace("name: 'toy'", "name: 'toy2'"))
    assert worker(12) == {"toy2"}


def test_a_model_list_travels_between_workers_unchanged(tmp_path: Path) -> None:
    text = (
        "model_config_list { config { name: 'a' base_path: 'a' model_platform: 'onnx'"
        " model_version_policy { specific { versions: 2 versions: 3 } }"
        " version_labels { key: 'stable' value: 2 } }"
        " config { name: 'b' base_path: '/m/b' } }"
    )
    configs = parse_model_config(text, root=tmp_path)
    assert parse_model_config(config_text(configs)) == configs


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _two_workers(tmp_path: Path, repo: Path) -> tuple[WorkerGroup, Lifecycle]:
    tmp_path.mkdir()
    WorkerGroup(tmp_path, pid=1).set_members([10, 11])
    settings = ServeSettings(file_system_poll_wait_seconds=0)
    config = ModelConfig(name="toy", base_path=repo / "toy")
    sync = GroupSync(WorkerGroup(tmp_path, pid=10), clock=_Clock())
    lifecycle = Lifecycle(Registry(), settings, [config], sync)
    lifecycle.poll()
    lifecycle.start()  # publishing from now on
    return WorkerGroup(tmp_path, pid=11), lifecycle


def test_a_held_version_serves_once_the_peer_has_it_or_the_hold_times_out(
    tmp_path: Path, repo: Path, caplog: pytest.LogCaptureFixture
) -> None:
    peer, lifecycle = _two_workers(tmp_path / "group", repo)
    sync = lifecycle.coordinator
    assert isinstance(sync, GroupSync)
    assert lifecycle.peer_states() == []  # the peer published nothing yet
    new = ServedVersion(model="toy", version=99, path=repo / "toy" / "99")
    with caplog.at_level(logging.INFO, logger="modelship.workers"):
        peer.publish_states({"toy": {1: "AVAILABLE", 99: "LOADING"}})
        sync.hold(new)  # the injected clock passes HOLD_SECONDS after a few checks
        assert "toy version 99: the other workers have not loaded it after 15s" in caplog.text
        peer.publish_states({"toy": {1: "AVAILABLE", 99: "AVAILABLE"}})
        sync.hold(new)
        assert "toy version 99 is loaded in every worker" in caplog.text
    assert lifecycle.peer_states() == [{"toy": {1: "AVAILABLE", 99: "AVAILABLE"}}]
    lifecycle.stop()
