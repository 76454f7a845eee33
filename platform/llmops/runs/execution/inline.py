"""Executing deployment runs: inline in the web process, or on a worker; waiting for and streaming them.

Inline execution is the worker's own code path: ``DeploymentRunExecution`` *is* a ``runs.RunExecution``
(the same engine, ``DjangoRunStore`` checkpoints, event numbering, heartbeat and cancellation), claimed
with the same compare-and-set before the request's transaction committed. It passes a chat turn (``query``,
``history``, ``conversation_id``) to the engine and hands each stored event to a streaming caller. (Small
workflows of fast nodes do not come here: they run instantly, see ``llmops.deployments.instant``.)

If the web process dies (or a streaming client disconnects) mid-run, the heartbeat stops, the sweeper
hands the run to a worker after ``LLMOPS_RUN_STALE_SECONDS``, and it resumes from its checkpoints.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from django.conf import settings

from llmops.deployments.chat import chat_history
from llmops.deployments.models import DeploymentRun
from llmops.runs.events import TERMINAL_EVENT, RunEventWriter
from llmops.runs.execution import RunExecution
from llmops.runs.models import FINAL_STATUSES, Run
from llmops.runs.services import run_claim
from llmops.runs.store import DjangoRunStore
from llmops.runs.streaming import run_events, with_keepalive
from workflows import Executor, NodeRecord, RunRecord

logger = logging.getLogger(__name__)
Listener = Callable[[dict[str, Any]], Awaitable[None]]


class _Tee:
    """Stores and publishes each event through ``inner``, then hands it to ``listener`` (a streaming call)."""

    def __init__(self, inner: RunEventWriter, listener: Listener | None) -> None:
        self.inner = inner
        self.listener = listener

    async def write(self, event: dict[str, Any]) -> dict[str, Any]:
        message = await self.inner.write(event)
        if self.listener is not None:
            await self.listener(message)
        return message


class FreshRunStore(DjangoRunStore):
    """``DjangoRunStore`` for a run created by this request: nothing to load (no checkpoints, no earlier
    state)."""

    async def load(self, run_id: str) -> list[NodeRecord]:
        return []

    async def load_run(self, run_id: str) -> RunRecord | None:
        return None


class DeploymentRunExecution(RunExecution):
    """A ``RunExecution`` with a chat turn and an event listener.

    With ``fresh`` (the run was created and claimed by this request) it skips the loads a resume needs.
    """

    def __init__(
        self,
        run: Run,
        claim: uuid.UUID,
        *,
        context: DeploymentRun | None = None,
        listener: Listener | None = None,
        fresh: bool = False,
    ) -> None:
        super().__init__(run, claim)
        self.context = context
        self.listener = listener
        self.fresh = fresh

    async def _prepare(self) -> tuple[RunEventWriter, DjangoRunStore]:
        if not self.fresh:
            return await super()._prepare()
        # A run created by this request has no events and no checkpoints yet: skip the loads.
        return RunEventWriter(self.run_id, 1), FreshRunStore(self.claim, defer_final=True)

    def _run_options(self) -> dict[str, Any]:
        context = self.context
        if context is None:
            return {}
        return {
            "query": context.query or None,
            "history": chat_history(context.history),
            "conversation_id": context.conversation_id or None,
        }

    async def _drive(self, executor: Executor, writer: RunEventWriter) -> None:
        await super()._drive(executor, _Tee(writer, self.listener))  # type: ignore[arg-type]

    async def _fail(self, writer: RunEventWriter, error_type: str, message: str) -> None:
        await super()._fail(_Tee(writer, self.listener), error_type, message)  # type: ignore[arg-type]


async def run_inline(
    run: Run, claim: uuid.UUID, *, context: DeploymentRun | None, listener: Listener | None = None
) -> None:
    """Execute a run this request created and claimed."""
    await DeploymentRunExecution(run, claim, context=context, listener=listener, fresh=True).execute()


def execute_on_worker(*, run_id: str) -> bool:
    """The worker side of a deployment run: claim, execute with its chat context; False if not claimed."""
    claim = uuid.uuid4()
    if not run_claim(run_id=run_id, claim=claim):
        return False
    run = Run.objects.select_related("workflow_version", "workspace").get(id=run_id)
    context = DeploymentRun.objects.filter(run_id=run_id).first()
    asyncio.run(DeploymentRunExecution(run, claim, context=context).execute())
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


async def inline_events(
    run: Run, claim: uuid.UUID, *, context: DeploymentRun | None
) -> AsyncIterator[dict[str, Any] | None]:
    """Execute inline and yield each event as soon as it is stored; ``None`` marks a keep-alive tick.

    A client that goes away cancels the execution; the sweeper resumes the run on a worker (see the docstring).
    """

    async def produce(emit: Callable[[dict[str, Any]], None]) -> None:
        async def listen(message: dict[str, Any]) -> None:
            emit(message)

        await run_inline(run, claim, context=context, listener=listen)

    async for item in with_keepalive(produce, settings.LLMOPS_API_KEEPALIVE_SECONDS):
        yield item
