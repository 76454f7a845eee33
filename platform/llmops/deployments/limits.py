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

While Redis is unreachable: the request bucket falls back to one in this process (the limit then holds per
web replica rather than in all, which beats refusing every call or letting every call through); the process
remembers the outage until Redis answers again, and :func:`redis_required` refuses what cannot work
without Redis (blocking and streaming calls: their run's events and workers travel through it) with a 503
``service_unavailable`` and ``Retry-After``. Async calls are still accepted: their run waits ``queued`` in
PostgreSQL and the sweeper enqueues it once the broker is back. A chain slot that cannot be taken is a 503
too; renewing or releasing one while Redis is down is skipped (a lease expires by itself).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from functools import cache
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from llmops.core.api.exceptions import REDIS_RETRY_AFTER_SECONDS
from llmops.core.errors import RateLimited, ServiceUnavailable
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
# Redis errors that mean "unreachable" (not a bug of ours, such as a script error).
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)

logger = logging.getLogger(__name__)


@cache
def _client(url: str) -> redis.Redis:
    # Bounded waits: an unreachable Redis must cost a request a second, not the OS's connect timeout.
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)


@cache
def _script(url: str, source: str) -> Any:
    return _client(url).register_script(source)


class _Outage:
    """This process's view of Redis: down since the last failed call, up again at the first answer."""

    since: float | None = None

    @classmethod
    def failed(cls, exc: Exception) -> None:
        if cls.since is None:
            cls.since = time.monotonic()
            logger.warning("Redis is unreachable (%s); API limits fall back to this process", exc)

    @classmethod
    def answered(cls) -> None:
        if cls.since is not None:
            cls.since = None
            _LocalBuckets.buckets.clear()  # Redis's buckets count again
            logger.warning("Redis answers again")


def redis_required() -> None:
    """``ServiceUnavailable`` (503, ``Retry-After``) while this process finds Redis unreachable: for calls that
    cannot work without it (a blocking or streaming run needs its events and, on a worker, the broker)."""
    if _Outage.since is not None:
        raise ServiceUnavailable(
            "The event and task broker (Redis) is temporarily unavailable; retry shortly, or call with "
            "response_mode=async (the run is queued and starts when the broker is back).",
            retry_after=REDIS_RETRY_AFTER_SECONDS,
        )


_LOCAL_BUCKETS_PRUNE_AT = 4096


class _LocalBuckets:
    """Per-process token buckets, used only while Redis is unreachable (same refill rule as the script)."""

    lock = threading.Lock()
    buckets: dict[str, tuple[float, float]] = {}

    @classmethod
    def take(cls, name: str, capacity: int) -> tuple[bool, float]:
        per_second = capacity / 60.0
        now = time.monotonic()
        with cls.lock:
            tokens, at = cls.buckets.get(name, (float(capacity), now))
            tokens = min(float(capacity), tokens + (now - at) * per_second)
            allowed = tokens >= 1
            tokens -= 1 if allowed else 0
            cls.buckets[name] = (tokens, now)
            if len(cls.buckets) > _LOCAL_BUCKETS_PRUNE_AT:  # a bucket idle a minute is full again: forget it
                cls.buckets = {k: v for k, v in cls.buckets.items() if now - v[1] < 60}
        return allowed, 0.0 if allowed else math.ceil((1 - tokens) / per_second * 1000)


def rate_take(*, key_prefix: str, per_minute: int) -> None:
    """Take one token from the key's bucket; ``RateLimited`` with the wait when it is empty.

    The bucket is named by the key's random prefix, not its row id, so a reused id never inherits a bucket.
    While Redis is unreachable the bucket is this process's own (see the module docstring).
    """
    name = f"llmops:apikey:{key_prefix}:bucket"
    try:
        allowed, wait_ms = _script(settings.REDIS_URL, _TOKEN_BUCKET)(keys=[name], args=[per_minute])
    except REDIS_DOWN as exc:
        _Outage.failed(exc)
        allowed, wait_ms = _LocalBuckets.take(name, per_minute)
    else:
        _Outage.answered()
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
    try:
        taken = script(keys=[_chain_slots(deployment)], args=[member, limit, _lease_ms()])
    except REDIS_DOWN as exc:
        _Outage.failed(exc)
        redis_required()
        raise
    if not taken:
        raise RateLimited(
            f"This deployment runs at most {limit} calls at a time; retry when one finishes.", retry_after=1
        )


def chain_slot_renew(*, deployment: Deployment, member: str) -> bool:
    """Push the slot's lease one lease ahead; False when it had already expired (it is not taken back).

    While Redis is unreachable the call goes on (True): a running call is not failed for its bookkeeping."""
    script = _script(settings.REDIS_URL, _CHAIN_SLOT_RENEW)
    try:
        return bool(script(keys=[_chain_slots(deployment)], args=[member, _lease_ms()]))
    except REDIS_DOWN as exc:
        _Outage.failed(exc)
        return True


def chain_slot_release(*, deployment: Deployment, member: str) -> None:
    """Free the slot at once (the call ended); while Redis is unreachable the lease expires by itself."""
    try:
        _client(settings.REDIS_URL).zrem(_chain_slots(deployment), member)
    except REDIS_DOWN as exc:
        _Outage.failed(exc)


def chain_slot_held(*, deployment: Deployment, member: str) -> bool:
    """Whether ``member`` holds a live lease (the call is still running somewhere); while Redis is
    unreachable nobody can tell, so the answer is the cautious one (held)."""
    script = _script(settings.REDIS_URL, _CHAIN_SLOT_HELD)
    try:
        return bool(script(keys=[_chain_slots(deployment)], args=[member]))
    except REDIS_DOWN as exc:
        _Outage.failed(exc)
        return True
