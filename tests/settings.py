"""Settings for the test suite: the platform's settings plus a test-only app.

The one deliberate fork: tests use their own Redis database (15) so a worker of a running `make run`
never picks up a test's task, and the test worker never picks up a developer's.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

from llmops.settings import *  # noqa: F403
from llmops.settings import CHANNEL_LAYERS, DATABASES, INSTALLED_APPS, REDIS_URL


def _redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]

# Two suites running side by side (several developers on one machine) each set their own pair.
REDIS_URL = _redis_db(REDIS_URL, int(os.environ.get("LLMOPS_TEST_REDIS_DB", "15")))
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("LLMOPS_TEST_DATABASE", "test_llmops")}
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [REDIS_URL]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

# Hashing passwords slowly is the point in production and a waste in tests.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

ROOT_URLCONF = "tests.testapp.urls"
