"""Channels: the Redis channel layer carries live events between workers and websocket consumers."""

from __future__ import annotations

from typing import Any

from llmops.settings.env import env_int
from llmops.settings.redis import REDIS_URL

CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "capacity": 1000, "expiry": 30},
    }
}

# A websocket ticket (POST /api/ws-ticket/) is good for one connection within this many seconds.
WS_TICKET_SECONDS = env_int("LLMOPS_WS_TICKET_SECONDS", 30, minimum=5, maximum=300)
# How stale an open socket's access check may get (membership, active user, live token or session).
WS_ACCESS_RECHECK_SECONDS = env_int("LLMOPS_WS_ACCESS_RECHECK_SECONDS", 15, minimum=1, maximum=600)
