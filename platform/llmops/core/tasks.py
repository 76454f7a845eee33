"""Platform-level Celery tasks."""

from __future__ import annotations

import socket
from typing import Any

from celery import shared_task
from django.db import connection


@shared_task(name="llmops.core.ping")
def ping(token: str) -> dict[str, Any]:
    """Round-trip probe: echo ``token`` with the worker's host and the database it is connected to."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        (database,) = cursor.fetchone()
    return {"token": token, "host": socket.gethostname(), "database": database}
