"""The listening socket a server (or each of its workers) binds."""

from __future__ import annotations

import socket

from modelship.errors import BadConfig

__all__ = ["bind_socket"]


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
