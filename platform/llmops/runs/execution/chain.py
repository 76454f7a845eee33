"""Chain calls: a chain executed inside the request, blocking or streamed delta by delta, under a lease.

A chain call has no ``Run`` row and nothing to resume: it lives as long as its request. The caller (a chain
deployment) admits it and holds a ``Lease`` (its concurrency slot); this module runs the engine's
``ChainExecutor`` (``llmops.chains.runner``) while renewing the lease, so a process that dies stops
renewing and the slot frees itself. A streamed call runs in a task of its own (the model stream lives in one
task) and yields keep-alive ticks while the model is silent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

from llmops.chains.runner import ChainExecutor, ChainOutcome, PreparedChain
from llmops.chains.selectors import ChainSnapshot
from llmops.runs.streaming import with_keepalive

logger = logging.getLogger(__name__)
ChainItem = str | ChainOutcome  # a delta of the answer, or the call's outcome (last)


class Lease(Protocol):
    """What a chain call holds while it runs, renewed every ``interval`` seconds; ``id`` names the call."""

    id: str

    @property
    def interval(self) -> float:
        """Seconds between renewals."""

    def renew(self) -> None:
        """Extend the lease (synchronous: a Redis call)."""


@asynccontextmanager
async def leased(lease: Lease) -> AsyncIterator[None]:
    """Renew ``lease`` while the body runs."""

    async def renew() -> None:
        while True:
            await asyncio.sleep(lease.interval)
            try:
                lease.renew()
            except Exception:  # Redis away for a moment: the call goes on, its lease may lapse
                logger.warning("could not renew the lease of chain call %s", lease.id, exc_info=True)

    task = asyncio.ensure_future(renew())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def chain_execute(
    executor: ChainExecutor,
    snapshot: ChainSnapshot,
    inputs: dict[str, Any],
    *,
    conversation_id: str | None,
    lease: Lease,
) -> ChainOutcome:
    """Run the chain to its outcome (a blocking call)."""
    async with leased(lease):
        return await executor.execute(snapshot, inputs, conversation_id=conversation_id)


async def chain_prepare(
    executor: ChainExecutor,
    snapshot: ChainSnapshot,
    inputs: dict[str, Any],
    *,
    conversation_id: str | None,
    lease: Lease,
) -> PreparedChain | ChainOutcome:
    """Everything before the model call of a streamed call (bad inputs raise here, before the response
    starts); an outcome when the chain ended early (input moderation)."""
    async with leased(lease):
        return await executor.prepare(snapshot, inputs, conversation_id=conversation_id)


async def chain_items(
    executor: ChainExecutor, prepared: PreparedChain | ChainOutcome, *, lease: Lease, keepalive: float
) -> AsyncIterator[ChainItem | None]:
    """The call's deltas and outcome, produced by a task of its own; ``None`` marks a keep-alive tick. A
    client that goes away cancels the task."""

    async def produce(emit: Callable[[ChainItem], None]) -> None:
        async with leased(lease):
            if isinstance(prepared, ChainOutcome):
                emit(prepared)
            else:
                async for item in executor.stream(prepared):
                    emit(item)

    async for item in with_keepalive(produce, keepalive):
        yield item
