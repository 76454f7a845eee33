"""PostgreSQL: ``DATABASE_URL``, or the embedded server in the state folder when it is unset."""

from __future__ import annotations

import dj_database_url

from llmops.embedded import default_database_url
from llmops.settings.env import env_int, env_url

DATABASE_URL = env_url("DATABASE_URL", ("postgres", "postgresql")) or default_database_url()
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("LLMOPS_DB_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int(
    "LLMOPS_DB_CONNECT_TIMEOUT", 5, minimum=1
)
