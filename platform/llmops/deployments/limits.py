"""The public API's limits.

Requests per minute, per key: a token bucket in Redis (one Lua script, so the read-refill-take is atomic
across every web replica; the clock is Redis's own ``TIME``, so replicas' clocks cannot disagree). The bucket
holds up to one minute's worth of tokens and refills continuously; a refused request learns exactly when the
next token arrives (``Retry-After``).

Concurrent runs, per deployment: counted in PostgreSQL, not in a Redis counter. Runs admitted and not yet
finished are ``queued``/``running`` rows of that deployment; admission takes a transaction-scoped advisory
lock on the deployment, counts them (the ``status`` index makes that cheap: few rows are unfinished) and
creates the run in the same transaction. A Redis counter would need a release on every exit path, and a
worker killed mid-run would leak its slot until a TTL; the count heals by itself, because the sweeper
finishes or resumes such runs.
"""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings
from django.db import connection

from llmops.core.errors import RateLimited
from llmops.runs.models import Run, RunStatus

_TOKEN_BUCKET = """
local capacity = tonumber(ARGV[1])
local per_ms = capacity / 60000.0
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil then
  tokens = capacity
  at = now_ms
end
tokens = math.min(capacity, tokens + math.max(0, now_ms - at) * per_ms)
local allowed = 0
local wait_ms = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait_ms = math.ceil((1 - tokens) / per_ms)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now_ms)
redis.call('PEXPIRE', KEYS[1], 61000)
return {allowed, wait_ms}
"""
# The advisory-lock namespace of deployment admission (an arbitrary constant of this app).
_ADMISSION_LOCK = 7_301


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


@cache
def _bucket_script(url: str) -> object:
    return _client(url).register_script(_TOKEN_BUCKET)


def rate_take(*, key_prefix: str, per_minute: int) -> None:
    """Take one token from the key's bucket; ``RateLimited`` with the wait when it is empty.

    The bucket is named by the key's random prefix, not its row id, so a reused id never inherits a bucket.
    """
    script = _bucket_script(settings.REDIS_URL)
    allowed, wait_ms = script(keys=[f"llmops:apikey:{key_prefix}:bucket"], args=[per_minute])  # type: ignore[operator]
    if not allowed:
        raise RateLimited(
            f"This key allows {per_minute} requests per minute; retry in {wait_ms / 1000:.1f} s.",
            retry_after=wait_ms / 1000,
        )


def concurrency_admit(*, deployment_id: int, limit: int) -> None:
    """Inside the run-creating transaction: refuse when ``limit`` runs of the deployment are unfinished."""
    if not limit:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_ADMISSION_LOCK, deployment_id])
    active = Run.objects.filter(
        status__in=(RunStatus.QUEUED, RunStatus.RUNNING), deployment_id=deployment_id
    ).count()
    if active >= limit:
        raise RateLimited(
            f"This deployment runs at most {limit} runs at a time; retry when one finishes.", retry_after=1
        )
