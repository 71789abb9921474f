"""Worker processes sharing the server's ports, kept alive by a supervisor that knows nothing
of the server it multiplies (what a worker runs is handed in)."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType

from modelship.errors import BadConfig, ModelshipError
from modelship.serving.workers.group import WorkerGroup
from modelship.settings import ServeSettings

__all__ = ["EXIT_BAD_CONFIG", "Supervisor", "Worker", "bind_socket"]

logger = logging.getLogger("modelship.supervisor")

# A worker exits with this when its configuration cannot work; restarting it would not help.
EXIT_BAD_CONFIG = 3
# Deaths within this many seconds that make the server give up.
_CRASH_WINDOW = 60.0
_MAX_CRASHES = 5
_DRAIN_SECONDS = 40.0

# What a worker process runs: (settings, reuse_port, group); it returns when drained. A
# module-level function, so that a spawned process can import it.
Worker = Callable[[ServeSettings, bool, WorkerGroup], None]


def _worker_main(worker: Worker, settings: ServeSettings, group_dir: str) -> None:
    """Entry point of a worker process."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format=f"%(asctime)s %(levelname)s %(name)s[{os.getpid()}]: %(message)s",
    )
    try:
        worker(settings, True, WorkerGroup(Path(group_dir)))
    except ModelshipError as exc:
        logger.error("worker cannot serve: %s", exc.message)
        raise SystemExit(EXIT_BAD_CONFIG) from None


@dataclass
class _Slot:
    """One worker position: its current process and its recent deaths."""

    index: int
    process: BaseProcess | None = None
    deaths: list[float] = field(default_factory=list)
    restart_at: float = 0.0


def bind_socket(host: str, port: int, reuse_port: bool) -> socket.socket:
    """A TCP socket bound to ``host:port``; with ``reuse_port`` other processes may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise BadConfig(
            f"cannot listen on {host}:{port}: {exc.strerror}; is another server using it? "
            "choose --rest_api_port"
        ) from None
    sock.set_inheritable(True)
    return sock


class Supervisor:
    """Keeps ``workers`` spawned processes running ``worker`` with a copy of ``settings``.

    Each loads the models and binds the REST port with ``SO_REUSEPORT``, so the kernel spreads
    connections over them. A dead worker is replaced after a backoff; one that keeps dying
    makes the server exit non-zero, so an orchestrator sees the failure. SIGTERM or SIGINT
    drains every worker. The supervisor keeps the member list of their :class:`WorkerGroup`.
    """

    _group: WorkerGroup  # created by run()

    def __init__(self, settings: ServeSettings, workers: int, worker: Worker) -> None:
        self.workers = workers
        self._worker = worker
        self._context = multiprocessing.get_context("spawn")
        self._stopping = False
        threads = settings.intra_op_threads or max(1, (os.cpu_count() or 1) // workers)
        self._settings = settings.model_copy(update={"intra_op_threads": threads})
        self._slots = [_Slot(i) for i in range(workers)]
        self._metrics_dir = ""

    def run(self) -> None:
        """Run until SIGTERM/SIGINT (then exit normally) or until workers keep dying.

        Raises:
            BadConfig: the workers cannot start (bad model or flags) or keep crashing.
        """
        # Holding the port here (bound, never listening) resolves port 0 for the workers and
        # keeps the port ours while workers come and go; it receives no connections.
        host, port = self._settings.rest_api_host, self._settings.rest_api_port
        holder = bind_socket(host, port, reuse_port=True)
        port = holder.getsockname()[1]
        self._settings = self._settings.model_copy(update={"rest_api_port": port})
        self._metrics_dir = tempfile.mkdtemp(prefix="modelship-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = self._metrics_dir
        self._group = group = WorkerGroup(Path(tempfile.mkdtemp(prefix="modelship-workers-")))
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            logger.info("starting %d workers on port %d", self.workers, port)
            for slot in self._slots:
                self._start(slot)
            self._watch()
        finally:
            self._drain()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            holder.close()
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
            shutil.rmtree(self._metrics_dir, ignore_errors=True)
            shutil.rmtree(group.directory, ignore_errors=True)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def _start(self, slot: _Slot) -> None:
        process = self._context.Process(
            target=_worker_main,
            args=(self._worker, self._settings, str(self._group.directory)),
            name=f"modelship-worker-{slot.index}",
        )
        process.start()
        slot.process = process
        self._update_members()
        logger.info("worker %d started (pid %s)", slot.index, process.pid)

    def _update_members(self) -> None:
        """Tell the workers who the live workers are (a reload waits for each of them)."""
        self._group.set_members(
            [s.process.pid for s in self._slots if s.process is not None and s.process.pid]
        )

    def _watch(self) -> None:
        while not self._stopping:
            sentinels = [s.process.sentinel for s in self._slots if s.process is not None]
            wait(sentinels, timeout=0.2)
            now = time.monotonic()
            for slot in self._slots:
                process = slot.process
                if process is not None and not process.is_alive():
                    self._buried(slot, process, now)
                if slot.process is None and not self._stopping and now >= slot.restart_at:
                    self._start(slot)

    def _buried(self, slot: _Slot, process: BaseProcess, now: float) -> None:
        """A worker died: decide when (or whether) to replace it."""
        slot.process = None
        code = process.exitcode
        if self._stopping:
            return
        self._update_members()
        self._mark_dead(process.pid)
        if code == EXIT_BAD_CONFIG:
            raise BadConfig(f"worker {slot.index} cannot load the models; see its log above")
        slot.deaths = [t for t in slot.deaths if now - t < _CRASH_WINDOW] + [now]
        if len(slot.deaths) >= _MAX_CRASHES:
            raise BadConfig(
                f"worker {slot.index} died {len(slot.deaths)} times in {_CRASH_WINDOW:.0f}s "
                f"(last exit code {code}); giving up rather than serving half-broken"
            )
        backoff = min(10.0, 0.5 * 2 ** (len(slot.deaths) - 1))
        slot.restart_at = now + backoff
        logger.error(
            "worker %d (pid %s) died with exit code %s; replacing it in %.1fs",
            slot.index,
            process.pid,
            code,
            backoff,
        )

    def _mark_dead(self, pid: int | None) -> None:
        if pid is None:
            return
        from prometheus_client import multiprocess

        with contextlib.suppress(OSError):
            multiprocess.mark_process_dead(pid, self._metrics_dir)  # type: ignore[no-untyped-call]

    def _drain(self) -> None:
        """SIGTERM every worker (each drains its in-flight requests), then wait for them."""
        self._stopping = True
        live = [s.process for s in self._slots if s.process is not None and s.process.is_alive()]
        for process in live:
            if process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + _DRAIN_SECONDS
        for process in live:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                logger.error("worker pid %s did not drain in time; killing it", process.pid)
                process.kill()
                process.join()
