"""Inline mode: the web process executes a run it created and claimed, the way a worker would.

The run was claimed (``runs.services.run_claim``, the same compare-and-set a worker uses) before the request's
transaction committed, so it is a ``ClaimedExecution`` like a worker's: the same engine, checkpoints, event
numbering, heartbeat and cancellation, with nothing to load (``fresh``). A streaming caller gets each event as
soon as it is stored. (Small workflows of fast nodes do not come here: they run instantly, see ``instant``.)

If the web process dies (or a streaming client disconnects) mid-run, the heartbeat stops, the sweeper hands
the run to a worker after ``LLMOPS_RUN_STALE_SECONDS``, and it resumes from its checkpoints.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from django.conf import settings

from llmops.runs.execution.claimed import ClaimedExecution
from llmops.runs.execution.context import ChatContext, Listener
from llmops.runs.models import Run
from llmops.runs.streaming import with_keepalive


async def run_inline(
    run: Run, claim: uuid.UUID, *, chat: ChatContext | None, listener: Listener | None = None
) -> None:
    """Execute a run this request created and claimed."""
    await ClaimedExecution(run, claim, chat=chat, listener=listener, fresh=True).execute()


async def inline_events(
    run: Run, claim: uuid.UUID, *, chat: ChatContext | None
) -> AsyncIterator[dict[str, Any] | None]:
    """Execute inline and yield each event as soon as it is stored; ``None`` marks a keep-alive tick.

    A client that goes away cancels the execution; the sweeper resumes the run on a worker (see the docstring).
    """

    async def produce(emit: Callable[[dict[str, Any]], None]) -> None:
        async def listen(message: dict[str, Any]) -> None:
            emit(message)

        await run_inline(run, claim, chat=chat, listener=listen)

    async for item in with_keepalive(produce, settings.LLMOPS_API_KEEPALIVE_SECONDS):
        yield item
