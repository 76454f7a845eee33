"""Readiness checks: the database (with pgvector), Redis, and at least one live Celery worker."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import connection

from llmops.celery import app as celery_app


@dataclass(frozen=True)
class CheckResult:
    """One dependency's state as ``/readyz`` reports it."""

    name: str
    ok: bool
    detail: str
    elapsed_ms: float


def _timed(name: str, probe: Callable[[], tuple[bool, str]]) -> CheckResult:
    started = time.perf_counter()
    try:
        ok, detail = probe()
    except Exception as exc:  # a probe failing for any reason means "not ready", with the reason
        ok, detail = False, f"{type(exc).__name__}: {exc}".strip()[:300]
    return CheckResult(name, ok, detail, round((time.perf_counter() - started) * 1000, 1))


def _database() -> tuple[bool, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    if row is None:
        return False, "connected, but the pgvector extension is missing (CREATE EXTENSION vector)"
    return True, f"postgresql, pgvector {row[0]}"


def _redis() -> tuple[bool, str]:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return True, "ping ok"


def _worker() -> tuple[bool, str]:
    replies = celery_app.control.ping(timeout=1.0, limit=1)
    if not replies:
        return False, "no Celery worker answered within 1 s (start one: celery -A llmops worker)"
    return True, f"{len(replies)} worker(s): " + ", ".join(
        sorted(name for reply in replies for name in reply)
    )


def readiness() -> list[CheckResult]:
    """Run every check; Redis is checked before the worker since the worker ping needs Redis."""
    results = [_timed("database", _database), _timed("redis", _redis)]
    if results[1].ok:
        results.append(_timed("worker", _worker))
    else:
        results.append(CheckResult("worker", False, "not checked: Redis is unavailable", 0.0))
    return results
