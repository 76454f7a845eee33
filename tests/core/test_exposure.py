"""What unauthenticated or debug pages let out: /readyz details, and passwords inside URL settings."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.views.debug import technical_500_response

PASSWORD = "hunter2-redis-secret"


@pytest.mark.django_db
def test_readyz_in_production_says_which_check_failed_and_nothing_more(client: Client, settings: Any) -> None:
    settings.LLMOPS_READYZ_DETAIL = False
    settings.REDIS_URL = f"redis://:{PASSWORD}@127.0.0.1:1/0"
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["redis"] == {"ok": False}
    assert body["checks"]["worker"] == {"ok": False}
    assert "127.0.0.1" not in response.content.decode()


def _debug_page() -> str:
    # Raised here, whose frame holds no password: the page shows each frame's locals and source lines.
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        return technical_500_response(RequestFactory().get("/"), *sys.exc_info()).content.decode()


def test_the_debug_page_hides_passwords_inside_url_settings(settings: Any) -> None:
    # given Redis and database URLs with passwords, as the development settings have them
    url = f"redis://:{PASSWORD}@127.0.0.1:63799/0"
    settings.DEBUG = True
    settings.REDIS_URL = url
    settings.CELERY_BROKER_URL = url
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": [url]}}}  # fmt: skip
    settings.DATABASE_URL = f"postgres://llmops:{PASSWORD}@127.0.0.1:54329/llmops"
    # when a request fails and the debug page is rendered
    page = _debug_page()
    # then no password is on it, and the URLs are still recognisable
    assert PASSWORD not in page
    assert "127.0.0.1:63799" in page
