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

Concurrent calls of a chain deployment: a chain call runs inside the request and has no row to count, so
each holds a *leased slot* in a Redis sorted set per deployment (member: the call, score: when its lease
ends). Taking a slot is one Lua script (drop expired leases, count, add) with Redis's own clock; the call
renews its lease every third of ``LLMOPS_API_CHAIN_LEASE_SECONDS`` while it runs and removes itself when it
ends, whatever way it ends. A process that dies mid-call stops renewing, and its slot frees itself within one
lease: nothing to sweep. Alternatives weighed: a plain counter (``INCR``/``DECR``) leaks a slot for good on a
crash; a PostgreSQL in-flight table would heal the same way but costs three writes per call (insert, renew,
delete) plus a sweeper, for calls that otherwise write no row of their own.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import redis
from django.conf import settings
from django.db import connection

from llmops.core.errors import RateLimited
from llmops.deployments.models import Deployment
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
_CHAIN_SLOT_TAKE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local limit = tonumber(ARGV[2])
local lease_ms = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if limit > 0 and not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= limit then
  return 0
end
redis.call('ZADD', KEYS[1], now_ms + lease_ms, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease_ms)
return 1
"""
_CHAIN_SLOT_RENEW = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local lease_ms = tonumber(ARGV[2])
local renewed = redis.call('ZADD', KEYS[1], 'XX', 'CH', now_ms + lease_ms, ARGV[1])
if renewed > 0 then
  redis.call('PEXPIRE', KEYS[1], lease_ms)
end
return renewed
"""
_CHAIN_SLOT_HELD = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local ends = redis.call('ZSCORE', KEYS[1], ARGV[1])
if ends and tonumber(ends) > now_ms then
  return 1
end
return 0
"""
# The advisory-lock namespace of deployment admission (an arbitrary constant of this app).
_ADMISSION_LOCK = 7_301


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


@cache
def _script(url: str, source: str) -> Any:
    return _client(url).register_script(source)


def rate_take(*, key_prefix: str, per_minute: int) -> None:
    """Take one token from the key's bucket; ``RateLimited`` with the wait when it is empty.

    The bucket is named by the key's random prefix, not its row id, so a reused id never inherits a bucket.
    """
    script = _script(settings.REDIS_URL, _TOKEN_BUCKET)
    allowed, wait_ms = script(keys=[f"llmops:apikey:{key_prefix}:bucket"], args=[per_minute])
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
    concurrency_check(deployment_id=deployment_id, limit=limit)


def concurrency_check(*, deployment_id: int, limit: int) -> None:
    """Refuse when ``limit`` runs of the deployment are unfinished, without taking the admission lock: for
    instant runs, which are stored finished and so never hold a slot themselves (nothing to serialize)."""
    if not limit:
        return
    active = Run.objects.filter(
        status__in=(RunStatus.QUEUED, RunStatus.RUNNING), deployment_id=deployment_id
    ).count()
    if active >= limit:
        raise RateLimited(
            f"This deployment runs at most {limit} runs at a time; retry when one finishes.", retry_after=1
        )


def _chain_slots(deployment: Deployment) -> str:
    # Named by the row id *and* its creation time: a reused id never inherits another deployment's leases.
    return f"llmops:deployment:{deployment.pk}:{deployment.created_at.timestamp():.6f}:chain_calls"


def _lease_ms() -> int:
    return int(settings.LLMOPS_API_CHAIN_LEASE_SECONDS * 1000)


def chain_slot_take(*, deployment: Deployment, member: str) -> None:
    """Take a leased slot for one chain call (``member``); ``RateLimited`` when ``max_concurrent_runs`` calls
    of the deployment hold one. Taken even without a limit: the set also tells who is alive
    (:func:`chain_slot_held`). Taking a slot the member already holds renews it."""
    limit = deployment.max_concurrent_runs
    script = _script(settings.REDIS_URL, _CHAIN_SLOT_TAKE)
    if not script(keys=[_chain_slots(deployment)], args=[member, limit, _lease_ms()]):
        raise RateLimited(
            f"This deployment runs at most {limit} calls at a time; retry when one finishes.", retry_after=1
        )


def chain_slot_renew(*, deployment: Deployment, member: str) -> bool:
    """Push the slot's lease one lease ahead; False when it had already expired (it is not taken back)."""
    script = _script(settings.REDIS_URL, _CHAIN_SLOT_RENEW)
    return bool(script(keys=[_chain_slots(deployment)], args=[member, _lease_ms()]))


def chain_slot_release(*, deployment: Deployment, member: str) -> None:
    """Free the slot at once (the call ended)."""
    _client(settings.REDIS_URL).zrem(_chain_slots(deployment), member)


def chain_slot_held(*, deployment: Deployment, member: str) -> bool:
    """Whether ``member`` holds a live lease (the call is still running somewhere)."""
    script = _script(settings.REDIS_URL, _CHAIN_SLOT_HELD)
    return bool(script(keys=[_chain_slots(deployment)], args=[member]))
