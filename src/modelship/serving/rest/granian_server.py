"""The REST app on granian, a Rust HTTP server, instead of uvicorn (``--http_server granian``).

granian's embedded server runs in this process, on this process's event loop (uvloop): the app,
its lifespan (the gRPC server beside it) and the dataplane are the same as on uvicorn; HTTP/1.1
parsing, keep-alive and writing happen in Rust threads. It serves the socket modelship bound
(shared between workers with ``SO_REUSEPORT`` as on uvicorn). What differs from uvicorn:

- ``--rest_request_read_timeout_seconds`` bounds the arrival of a request's headers (granian's
  header read timeout, at most 60 s; the connection is closed, without a 408); a body that
  trickles in is bounded by ``--rest_api_timeout_in_ms`` only once it is being read.
- ``--rest_max_connections`` caps the requests a worker runs at once (granian's backpressure:
  further ones wait in Rust), not the open connections: setting it, or
  ``--rest_idle_timeout_seconds`` (idle keep-alive connections stay open), is refused.
- Headers may fill granian's 408 KiB read buffer (uvicorn's guard answers 431 past 64 KiB).
- SIGTERM/SIGINT: for half a second every answer says ``Connection: close``, then granian
  stops accepting, answers the requests in flight and closes idle connections. A connection
  the kernel queued but granian had not yet accepted at that moment is reset (uvicorn's drain
  accepts and serves those too).
- Cleartext HTTP/2 (prior knowledge) is accepted beside HTTP/1.1.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Awaitable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelship.errors import BadConfig
from modelship.settings import ServeSettings

__all__ = ["HEADER_READ_TIMEOUT_MAX_SECONDS", "check_granian_settings", "serve_on_granian"]

logger = logging.getLogger("modelship.serve")

# granian refuses a longer header read timeout.
HEADER_READ_TIMEOUT_MAX_SECONDS = 60.0
# After SIGTERM, how long requests are still accepted and answered with Connection: close.
DRAIN_GRACE_SECONDS = 0.5


def check_granian_settings(settings: ServeSettings) -> None:
    """Refuse the REST connection settings granian cannot honour, before models load.

    Raises:
        BadConfig: a connection cap, an idle timeout, or a read timeout over 60 s was asked for.
    """
    given = settings.model_fields_set
    if "rest_max_connections" in given:
        raise BadConfig(
            "--http_server granian cannot cap open connections (--rest_max_connections); "
            "use --http_server uvicorn, or leave the flag out (granian then runs at most "
            f"{settings.rest_max_connections} requests at once)"
        )
    if "rest_idle_timeout_seconds" in given:
        raise BadConfig(
            "--http_server granian keeps idle keep-alive connections open "
            "(no --rest_idle_timeout_seconds); use --http_server uvicorn"
        )
    if settings.rest_request_read_timeout_seconds > HEADER_READ_TIMEOUT_MAX_SECONDS:
        raise BadConfig(
            "--http_server granian reads a request's headers for at most 60 s: "
            "--rest_request_read_timeout_seconds must be 60 or less"
        )


def _granian() -> Any:
    try:
        from granian.server import embed
    except ImportError:  # pragma: no cover - an optional dependency (the serving images lack it)
        raise BadConfig(
            "--http_server granian needs the granian package: pip install 'modelship[granian]'"
        ) from None
    return embed


class _ClosingAnswers:
    """The app, answering ``Connection: close`` where granian would close without saying so.

    Once the server drains, keep-alive clients learn to reconnect elsewhere before granian
    closes their idle connections. After a 413 the rest of the body is unread: granian then
    closes the connection, and a client reusing it would see it drop.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.draining = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A plain function handing back granian's awaitable: no coroutine per message.
        def answer(message: Message) -> Awaitable[None]:
            if message["type"] == "http.response.start" and (
                self.draining or message["status"] == 413
            ):
                headers = [h for h in message.get("headers", ()) if h[0].lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            return send(message)

        await self.app(scope, receive, answer)


def serve_on_granian(
    app: Any,
    listener: socket.socket,
    *,
    read_timeout: float,
    max_concurrent_requests: int,
    backlog: int,
    log_level: str,
) -> None:
    """Serve ``app`` (ASGI, with its lifespan) on the bound ``listener`` until SIGTERM/SIGINT.

    Args:
        app: the ASGI app.
        listener: the bound socket; granian listens on a duplicate; ``listener`` is closed
            when the server stops.
        read_timeout: seconds a request's headers may take to arrive (at most 60).
        max_concurrent_requests: requests run at once; more wait in granian.
        backlog: the kernel's queue of connections not yet accepted.
        log_level: the server's log level.
    """
    embed = _granian()
    from granian._granian import SocketHolder
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    listener.listen(backlog)
    # granian owns (and closes) the duplicate's descriptor.
    holder = SocketHolder(listener.dup().detach(), False, backlog)  # type: ignore[call-arg]

    class _BoundServer(embed.Server):  # type: ignore[misc,name-defined]
        """granian's embedded server on a socket bound beforehand, not one it binds."""

        def _init_shared_socket(self) -> None:
            self._ssp, self._shd = None, holder

    # Its notice that embedding is experimental says nothing to someone running modelship.
    logging.getLogger("_granian").addFilter(lambda record: "experimental" not in record.msg)
    level = log_level.lower() if log_level.lower() in LogLevels.__members__ else "warning"
    wrapped = _ClosingAnswers(app)
    server = _BoundServer(
        wrapped,
        address=listener.getsockname()[0],
        port=listener.getsockname()[1],
        interface=Interfaces.ASGI,
        websockets=False,
        backlog=backlog,
        backpressure=max_concurrent_requests,
        http1_settings=HTTP1Settings(header_read_timeout=max(1, int(read_timeout * 1000))),
        log_level=LogLevels(level),
    )

    async def run() -> None:
        loop = asyncio.get_running_loop()

        def drain() -> None:
            # granian stops accepting, finishes the requests in flight and closes idle
            # connections at once: first tell active clients, and serve what arrives meanwhile.
            if not wrapped.draining:
                wrapped.draining = True
                loop.call_later(DRAIN_GRACE_SECONDS, stop)

        def stop() -> None:
            # Only granian's descriptor keeps the socket listening now: once granian stops
            # accepting, new connections are refused instead of queued and reset.
            listener.close()
            server.stop()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, drain)
        await server.serve()

    import uvloop

    uvloop.run(run())
