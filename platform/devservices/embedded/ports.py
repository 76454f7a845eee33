"""Loopback ports: read from the environment, checked for a listener."""

from __future__ import annotations

import errno
import os
import socket

from devservices.embedded.errors import ConfigError

LOOPBACK = "127.0.0.1"
MIN_PORT = 1024
MAX_PORT = 65535


def port_from_env(name: str, default: int) -> int:
    """A TCP port from the environment; unset or blank gives ``default``; anything else must be valid."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        port = int(raw.strip(), 10)
    except ValueError:
        port = -1
    if not MIN_PORT <= port <= MAX_PORT:
        raise ConfigError(
            f"{name}={raw!r} is not a valid port; set {name} to a free port between {MIN_PORT} and "
            f"{MAX_PORT} or unset it to use {default}"
        )
    return port


def port_in_use(port: int) -> bool:
    """Whether a server could not bind ``127.0.0.1:port`` now (as PostgreSQL and Redis bind, SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False
