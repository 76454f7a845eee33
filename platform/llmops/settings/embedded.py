"""The one seam between the product and the development services beside it (``platform/devservices``).

With ``DATABASE_URL`` / ``REDIS_URL`` unset, the platform uses the embedded PostgreSQL and Redis that
``make run`` and ``make test`` start (``python -m devservices.embedded start``). How to reach them (the
loopback port from ``LLMOPS_PG_PORT`` / ``LLMOPS_REDIS_PORT``, the password generated in
``<state>/secrets``) belongs to devservices, so these two functions ask it, importing it only when called: a
deployment that sets both URLs never loads development code. No other product module imports
``devservices`` (``tests/embedded/test_product_seam.py`` checks).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from llmops.settings.env import SettingError


def _embedded(variable: str) -> ModuleType:
    try:
        import devservices.embedded
    except ImportError:
        raise SettingError(
            f"{variable} is not set and the embedded development servers (devservices) are not installed; "
            f"set {variable}"
        ) from None
    return devservices.embedded


def embedded_database_url(state: Path) -> str:
    """The embedded PostgreSQL's URL for the state folder ``state``; starts nothing."""
    return str(_embedded("DATABASE_URL").default_database_url(state))


def embedded_redis_url(state: Path) -> str:
    """The embedded Redis's URL for the state folder ``state``; starts nothing."""
    return str(_embedded("REDIS_URL").default_redis_url(state))
