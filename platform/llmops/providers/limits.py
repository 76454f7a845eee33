"""Client-side limits per endpoint: concurrency (per process) and requests per minute (across processes).

- **Concurrency** is an ``asyncio.Semaphore`` per endpoint, per process and per event loop (asyncio
  primitives are bound to one loop; a Celery worker runs each task in a fresh loop). A limit of 4 with 3
  worker processes therefore allows up to 12 calls at once fleet-wide: good enough to protect a local
  llama.cpp from a burst, not a global guarantee.
- **Requests per minute** is a fixed one-minute window counted in Redis (``INCR`` + ``EXPIRE``), so it holds
  across every web and worker process. A call over the limit waits for the next window instead of failing.
  If Redis is unreachable the limiter lets calls through (and logs it): a metering outage must not stop
  production traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator

from redis.exceptions import RedisError

from llmops.core.async_redis import async_redis

logger = logging.getLogger(__name__)

_semaphores: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[int, int], asyncio.Semaphore]
] = weakref.WeakKeyDictionary()


def _semaphore(endpoint_id: int, limit: int) -> asyncio.Semaphore:
    per_loop = _semaphores.setdefault(asyncio.get_running_loop(), {})
    key = (endpoint_id, limit)  # a changed limit gets a fresh semaphore
    if key not in per_loop:
        per_loop[key] = asyncio.Semaphore(limit)
    return per_loop[key]


@contextlib.asynccontextmanager
async def concurrency_slot(endpoint_id: int, limit: int | None) -> AsyncIterator[None]:
    """Hold one of ``limit`` slots of the endpoint while the body runs (no-op when ``limit`` is None)."""
    if not limit:
        yield
        return
    async with _semaphore(endpoint_id, limit):
        yield


async def wait_for_rate(endpoint_id: int, per_minute: int | None, *, window_seconds: int = 60) -> float:
    """Take one request from the endpoint's per-window budget, waiting for the next window when it is spent.

    ``window_seconds`` is a minute in production (tests shorten it). Returns the seconds waited.
    """
    if not per_minute:
        return 0.0
    waited = 0.0
    while True:
        now = time.time()
        window = int(now // window_seconds)
        key = f"llmops:rpm:{endpoint_id}:{window_seconds}:{window}"
        try:
            pipe = async_redis().pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, window_seconds * 2)
            count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            logger.warning("rate limiter unavailable for endpoint %s (%s); not limiting", endpoint_id, exc)
            return waited
        if int(count) <= per_minute:
            return waited
        pause = (window + 1) * window_seconds - now + 0.01
        await asyncio.sleep(pause)
        waited += pause
