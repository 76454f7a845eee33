"""Redis: ``REDIS_URL``, or the embedded server in the state folder when it is unset.

It brokers Celery tasks, carries Channels events and backs Django's cache (rate limits, throttles).
"""

from __future__ import annotations

from llmops.settings.base import STATE_DIR
from llmops.settings.embedded import embedded_redis_url
from llmops.settings.env import env_url

REDIS_URL = env_url("REDIS_URL", ("redis", "rediss")) or embedded_redis_url(STATE_DIR)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "llmops",
    }
}
