"""The HTTP server's connections: bounded against slow or idle clients, drained on SIGTERM.

uvicorn (0.54) has a keep-alive timeout between requests but none while a request arrives, no
cap on connections and, on shutdown, closes its listening socket first: with ``SO_REUSEPORT``
the connections the kernel queued for this worker are reset, and idle keep-alive connections
are closed while a request may be on its way. This module keeps uvicorn and changes that:

- a request's headers and body must arrive within ``read_timeout`` seconds (408 otherwise), its
  headers within ``max_header_bytes`` (431); past ``max_connections`` a new connection is
  answered 503 and closed (each worker counts its own);
- on shutdown the server stops accepting, accepts what the kernel already queued, then closes
  the listening socket; every request received, or arriving within a short grace, is answered
  with ``Connection: close``; idle connections close after the grace.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["DrainingServer", "guarded_protocol"]

logger = logging.getLogger("modelship.serve")

# After it stops accepting, how long the server waits for bytes already sent (on a connection
# just accepted, or on an idle keep-alive one) before it closes idle connections.
DRAIN_GRACE_SECONDS = 0.25
# How often read timeouts are checked: per connection, not per request, so the hot path pays
# one clock read per request.
_SWEEP_SECONDS = 0.5


def _plain_answer(status: bytes, text: str) -> bytes:
    body = ('{"error": "' + text + '"}').encode()
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )


class _GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a read deadline, a header size cap and a drain mode."""

    read_timeout: float = 60.0
    max_connections: int = 1000
    max_header_bytes: int = 64 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # When the request being read began arriving (None: no request being read).
        self.reading_since: float | None = None
        self.header_bytes = 0
        self.headers_done = True
        self.draining = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.reading_since = self.loop.time()
        if len(self.connections) > self.max_connections:
            logger.warning(
                "refusing a connection: %d open, the limit is %d (--rest_max_connections)",
                len(self.connections) - 1,
                self.max_connections,
            )
            self.refuse(b"503 Service Unavailable", "too many connections; retry later")

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self.headers_done:  # still in a request's headers after this chunk
            self.header_bytes += len(data)
            if self.header_bytes > self.max_header_bytes and not self.transport.is_closing():
                self.refuse(b"431 Request Header Fields Too Large", "request headers too large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.reading_since = self.loop.time()
        self.header_bytes, self.headers_done = 0, False

    def on_headers_complete(self) -> None:
        self.headers_done = True
        super().on_headers_complete()
        if self.draining and self.cycle is not None:
            self.cycle.keep_alive = False  # answered with Connection: close

    def on_message_complete(self) -> None:
        self.reading_since = None
        super().on_message_complete()

    def refuse(self, status: bytes, text: str) -> None:
        """Answer ``status`` (unless an answer has begun) and close the connection."""
        cycle = self.cycle
        if cycle is None or cycle.response_complete or not cycle.response_started:
            self.transport.write(_plain_answer(status, text))
        self.transport.close()

    def check_read_deadline(self, now: float) -> None:
        since = self.reading_since
        late = since is not None and now - since > self.read_timeout
        if late and not self.transport.is_closing():
            self.refuse(b"408 Request Timeout", "the request did not arrive in time")

    def start_draining(self) -> None:
        """Answer from now on with ``Connection: close``."""
        self.draining = True
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.keep_alive = False

    def shutdown(self) -> None:
        self.start_draining()
        if self.reading_since is not None and (self.cycle is not None or not self.headers_done):
            return  # a request is arriving: it is answered, then the connection closes
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()
        else:
            self.cycle.keep_alive = False


def guarded_protocol(
    read_timeout: float, max_connections: int, max_header_bytes: int = 64 * 1024
) -> type[HttpToolsProtocol]:
    """uvicorn's ``http`` protocol class with these limits."""
    return type(
        "GuardedHttpProtocol",
        (_GuardedProtocol,),
        {
            "read_timeout": read_timeout,
            "max_connections": max_connections,
            "max_header_bytes": max_header_bytes,
        },
    )


class DrainingServer(uvicorn.Server):
    """uvicorn's server, serving one listening socket that it drains before closing.

    ``run(sockets=[listener])`` hands uvicorn a duplicate: closing uvicorn's copy stops the
    accepting, while this one keeps the kernel's queue alive until it is drained.
    """

    def __init__(self, config: uvicorn.Config, listener: socket.socket) -> None:
        super().__init__(config)
        self.listener = listener
        self._sweeper: asyncio.Task[None] | None = None
        self._protocol_factory: Any = None

    def serve_forever(self) -> None:
        """Serve until SIGTERM/SIGINT, then drain."""
        self.run(sockets=[self.listener.dup()])

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(_SWEEP_SECONDS)
            now = loop.time()
            for connection in list(self.server_state.connections):
                if isinstance(connection, _GuardedProtocol):
                    connection.check_read_deadline(now)

    def _accept_queued(self) -> list[socket.socket]:
        """What the kernel queued for this socket, accepted."""
        self.listener.setblocking(False)
        accepted: list[socket.socket] = []
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # nothing more queued (EAGAIN), or the socket is not listening
                return accepted
            conn.setblocking(False)
            accepted.append(conn)

    async def _serve_accepted(self, conn: socket.socket) -> None:
        config = self.config
        protocol = config.http_protocol_class(  # type: ignore[call-arg]
            config=config, server_state=self.server_state, app_state=self.lifespan.state
        )
        await asyncio.get_running_loop().connect_accepted_socket(lambda: protocol, conn)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # stops accepting; the listener keeps the queue alive
        accepted = self._accept_queued()
        self.listener.close()
        if accepted:
            logger.info("draining: serving %d connection(s) queued at the stop", len(accepted))
            await asyncio.gather(*(self._serve_accepted(conn) for conn in accepted))
        # Bytes already on their way (a request on a just-accepted or idle connection) arrive
        # meanwhile; answers say Connection: close, so clients stop sending here.
        for connection in list(self.server_state.connections):
            if isinstance(connection, _GuardedProtocol):
                connection.start_draining()
        await asyncio.sleep(DRAIN_GRACE_SECONDS)
        try:
            await super().shutdown(sockets=None)
        finally:
            if self._sweeper is not None:
                self._sweeper.cancel()
