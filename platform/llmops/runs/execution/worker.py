"""Worker mode: a Celery task claims a run (compare-and-set) and executes it, resuming from its checkpoints.

The task is ``llmops.runs.execute`` for console and scheduled runs and ``llmops.deployments.execute`` for a
published endpoint's runs (which passes the stored chat turn in and sends the webhook after). A duplicate
delivery loses the claim and returns; a worker that dies stops heart-beating and the sweeper
(``runs.services.runs_sweep``) hands the run to another. A caller waiting for a worker's run follows its
stored events (``wait_finished``).
"""

from __future__ import annotations

import asyncio
import uuid

from llmops.runs.events import TERMINAL_EVENT
from llmops.runs.execution.claimed import ClaimedExecution
from llmops.runs.execution.context import ChatContext
from llmops.runs.models import FINAL_STATUSES, Run
from llmops.runs.services import run_claim
from llmops.runs.streaming import run_events


def execute_run(*, run_id: str, chat: ChatContext | None = None) -> bool:
    """Execute or resume ``run_id`` (with ``chat``, a chat turn) if this caller wins the claim; False when
    another execution owns the run or it has ended."""
    claim = uuid.uuid4()
    if not run_claim(run_id=run_id, claim=claim):
        return False
    run = Run.objects.select_related("workflow_version", "workspace").get(id=run_id)
    asyncio.run(ClaimedExecution(run, claim, chat=chat).execute())
    return True


async def wait_finished(run_id: str, timeout: float) -> bool:
    """Wait until the run has ended (through its live events); False on timeout."""

    async def consume() -> None:
        async for event in run_events(run_id):
            if event is not None and event["type"] == TERMINAL_EVENT:
                return

    try:
        await asyncio.wait_for(consume(), timeout)
    except TimeoutError:
        return await Run.objects.filter(id=run_id, status__in=FINAL_STATUSES).aexists()
    return True
