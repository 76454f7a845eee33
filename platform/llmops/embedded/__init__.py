"""Embedded default services: a private PostgreSQL (with pgvector) and Redis for development and tests.

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, the settings use :func:`default_database_url` and
:func:`default_redis_url`, and ``make run`` / ``make test`` start the servers with
``python -m llmops.embedded start`` (``make stop`` stops them). Everything lives in the state folder
(:func:`state_dir`). This package imports nothing from Django and nothing outside the standard library at
import time, so the settings may import it.
"""

from __future__ import annotations

from pathlib import Path

from llmops.embedded import postgres, redis
from llmops.embedded.errors import ConfigError, EmbeddedError, PortInUseError
from llmops.embedded.state import state_dir

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
