"""Embedded default services: a private PostgreSQL (with pgvector) and Redis for development and tests.

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, the settings use :func:`default_database_url` and
:func:`default_redis_url` (through ``llmops/settings/embedded.py``, the product's one import of this package),
and ``make run`` / ``make test`` start the servers with ``python -m devservices.embedded start`` (``make stop``
stops them). Everything lives in the state folder (:func:`state_dir`). This package imports nothing from
Django and nothing outside the standard library at import time, so the settings may import it.

Modules: ``cli`` (the command), ``postgres`` and ``redis`` (what differs between the two servers),
``launch`` (the start-up and shut-down sequence they share), ``accounts`` (the unprivileged account servers
and the worker run as under root), ``processes``, ``ports``, ``passwords``, ``folder`` (the state folder),
``locking``, ``status``, ``errors``.
"""

from __future__ import annotations

from pathlib import Path

from devservices.embedded import postgres, redis
from devservices.embedded.errors import ConfigError, EmbeddedError, PortInUseError
from devservices.embedded.folder import state_dir

__all__ = [
    "ConfigError",
    "EmbeddedError",
    "PortInUseError",
    "default_database_url",
    "default_redis_url",
    "state_dir",
]


def default_database_url(state: Path | None = None) -> str:
    """``postgres://llmops:<password>@127.0.0.1:<port>/llmops`` for the embedded server.

    Starts nothing and opens no connection; generates the password file on first call. Raises
    :class:`ConfigError` (a ``ValueError``) naming ``LLMOPS_PG_PORT`` when it is malformed.
    """
    return postgres.database_url(state if state is not None else state_dir())


def default_redis_url(state: Path | None = None) -> str:
    """``redis://:<password>@127.0.0.1:<port>/0`` for the embedded server (same contract as above)."""
    return redis.redis_url(state if state is not None else state_dir())
