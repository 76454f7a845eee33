"""Deployments tests: child processes (uvicorn, the Celery worker) may POST webhooks to loopback receivers.

Set before the session fixtures start: ``tests/conftest.py``'s ``_child_env`` passes ``os.environ`` on.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.support.redis_outage import throwaway_redis  # noqa: F401 (a fixture of this package's tests)

os.environ.setdefault("LLMOPS_WEBHOOK_ALLOWLIST", "127.0.0.1")


@pytest.fixture(autouse=True)
def _loopback_webhooks(settings: Any) -> None:
    settings.LLMOPS_WEBHOOK_ALLOWLIST = ["127.0.0.1"]
