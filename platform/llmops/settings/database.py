"""PostgreSQL: ``DATABASE_URL``, or the embedded server in the state folder when it is unset.

Under the ASGI server every request runs its synchronous code on a fresh thread, so Django's persistent
connections (``CONN_MAX_AGE``) are never reused there and pile up until PostgreSQL refuses new clients. The
web process therefore uses a connection pool (``LLMOPS_DB_POOL=true``, set by ``deploy/Procfile.dev`` and
the container files for the web server); Celery workers and commands keep persistent connections.
"""

from __future__ import annotations

import dj_database_url

from llmops.settings.base import STATE_DIR
from llmops.settings.embedded import embedded_database_url
from llmops.settings.env import env_bool, env_int, env_url

DATABASE_URL = env_url("DATABASE_URL", ("postgres", "postgresql")) or embedded_database_url(STATE_DIR)
LLMOPS_DB_POOL = env_bool("LLMOPS_DB_POOL", False)
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=0 if LLMOPS_DB_POOL else env_int("LLMOPS_DB_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=not LLMOPS_DB_POOL,
    )
}
_options = DATABASES["default"].setdefault("OPTIONS", {})
_options["connect_timeout"] = env_int("LLMOPS_DB_CONNECT_TIMEOUT", 5, minimum=1)
if LLMOPS_DB_POOL:
    _options["pool"] = {
        "min_size": env_int("LLMOPS_DB_POOL_MIN", 2, minimum=0),
        "max_size": env_int("LLMOPS_DB_POOL_MAX", 20, minimum=1),
        "timeout": 10,
    }
