"""Executing deployment runs: inline in the web process, or on a worker; waiting for and streaming them.

Inline execution is the worker's own code path: ``DeploymentRunExecution`` *is* a ``runs.RunExecution``
(the same engine, ``DjangoRunStore`` checkpoints, event numbering, heartbeat and cancellation), claimed
with the same compare-and-set before the request's transaction committed. It differs in two ways:

- it passes a chat turn (``query``, ``history``, ``conversation_id``) to the engine, and
- in blocking mode its events are stored in one ``bulk_create`` and published after the final state is
  written, instead of one insert and one publish per event. Every event is still stored before it is
  published, so console subscribers see the same sequence, only later.

If the web process dies (or a streaming client disconnects) mid-run, the heartbeat stops, the sweeper
hands the run to a worker after ``LLMOPS_RUN_STALE_SECONDS``, and it resumes from its checkpoints.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from llmops.deployments.models import DeploymentRun
from llmops.runs.events import TERMINAL_EVENT, RunEventWriter, run_group
from llmops.runs.execution import RunExecution
from llmops.runs.models import FINAL_STATUSES, NodeRun, Run, RunEvent, RunStatus
from llmops.runs.services import run_claim
from llmops.runs.store import DjangoRunStore, node_fields
from llmops.runs.streaming import run_events
from workflows import ChatMessage, Executor, NodeRecord, RunRecord

logger = logging.getLogger(__name__)
Listener = Callable[[dict[str, Any]], Awaitable[None]]


async def _publish(layer: Any, run_id: str, messages: list[dict[str, Any]]) -> None:
    """Publish stored events to the run's group; skipped when nobody is subscribed.

    Skipping is safe because the events are already stored: a subscriber joins the group *before* reading
    the backlog, so one that joins after this check finds every event in the backlog.
    """
    if layer is None or not messages:
        return
    group = run_group(run_id)
    members = getattr(layer, "_group_key", None)
    if members is not None:  # channels_redis: one ZCARD instead of two round trips per event
        connection = layer.connection(layer.consistent_hash(group))
        if not await connection.zcard(layer._group_key(group)):
            return
    for message in messages:
        await layer.group_send(group, {"type": "run.event", "event": message})


class _Tee:
    """Numbers events through ``inner`` and hands each to ``listener``; stores and publishes at once, or (when
    ``buffered``) keeps them for ``DeploymentRunExecution`` to store in the run's final transaction."""

    def __init__(self, inner: RunEventWriter, listener: Listener | None, *, buffered: bool) -> None:
        self.inner = inner
        self.listener = listener
        self.buffered = buffered
        self.pending: list[dict[str, Any]] = []

    async def write(self, event: dict[str, Any]) -> dict[str, Any]:
        if self.buffered:
            self.inner.seq += 1
            message = {"seq": self.inner.seq, **event}
            self.pending.append(message)
        else:
            message = await self.inner.write(event)
        if self.listener is not None:
            await self.listener(message)
        return message

    def rows(self) -> list[RunEvent]:
        return [
            RunEvent(run_id=self.inner.run_id, seq=m["seq"], type=m["type"], data=m) for m in self.pending
        ]

    async def flush(self) -> None:
        """Store and publish what is still buffered (a run that ended without ``run_finished``)."""
        if self.pending:
            await RunEvent.objects.abulk_create(self.rows())
            await self.published()

    async def published(self) -> None:
        pending, self.pending = self.pending, []
        await _publish(self.inner.layer, self.inner.run_id, pending)


class FreshRunStore(DjangoRunStore):
    """``DjangoRunStore`` for a run created by this request: nothing to load (no checkpoints, no earlier
    state), and with ``buffered`` the checkpoints and the "running" write wait for the final transaction.

    Buffering is only used for workflows of ``FAST_NODE_TYPES`` (no model, code or HTTP calls): if the process
    dies mid-run, the resumed run re-executes those microsecond nodes, which have no side effects.
    """

    def __init__(self, claim: uuid.UUID, *, buffered: bool) -> None:
        super().__init__(claim, defer_final=True)
        self.buffered = buffered
        self.nodes: list[NodeRecord] = []

    async def load(self, run_id: str) -> list[NodeRecord]:
        return []

    async def load_run(self, run_id: str) -> RunRecord | None:
        return None

    async def save_run(self, record: RunRecord) -> None:
        if self.buffered and record.status == "running":
            return  # started_at lands with the final state
        await super().save_run(record)

    async def checkpoint(self, run_id: str, record: NodeRecord) -> None:
        if self.buffered:
            self.nodes.append(record)
            return
        await super().checkpoint(run_id, record)


class DeploymentRunExecution(RunExecution):
    """A ``RunExecution`` with a chat turn and an event listener.

    With ``fresh`` (the run was created and claimed by this request) it skips the loads a resume needs; with
    ``buffered`` too, the node checkpoints, the final state and the events are written in one transaction at
    the end (then published), instead of ~20 round trips spread over the run.
    """

    def __init__(
        self,
        run: Run,
        claim: uuid.UUID,
        *,
        context: DeploymentRun | None = None,
        listener: Listener | None = None,
        fresh: bool = False,
        buffered: bool = False,
    ) -> None:
        super().__init__(run, claim)
        self.context = context
        self.listener = listener
        self.fresh = fresh
        self.buffered = buffered and fresh

    async def _prepare(self) -> tuple[RunEventWriter, DjangoRunStore]:
        if not self.fresh:
            return await super()._prepare()
        # A run created by this request has no events and no checkpoints yet: skip the loads.
        return RunEventWriter(self.run_id, 1), FreshRunStore(self.claim, buffered=self.buffered)

    def _run_options(self) -> dict[str, Any]:
        context = self.context
        if context is None:
            return {}
        history = [ChatMessage(role=m["role"], content=m["content"]) for m in context.history]
        return {
            "query": context.query or None,
            "history": history,
            "conversation_id": context.conversation_id or None,
        }

    async def _drive(self, executor: Executor, writer: RunEventWriter) -> None:
        tee = _Tee(writer, self.listener, buffered=self.buffered)
        events = self._events(executor)
        try:
            async for event in events:
                if self.lost:
                    continue  # another execution owns the run now: publish nothing more
                data = event.to_dict()
                if data["type"] != TERMINAL_EVENT:
                    await tee.write(data)
                elif self.buffered:
                    await self._finish_buffered(data, tee)
                elif await self._finish(data):
                    await tee.write(data)
                else:
                    self.lost = True
        finally:
            await tee.flush()

    async def _finish_buffered(self, finished: dict[str, Any], tee: _Tee) -> None:
        # The final state is written before run_finished is published, as in ``RunExecution._finish``.
        await tee.write(finished)
        if await sync_to_async(self._persist)(finished, tee):
            await tee.published()
        else:
            self.lost, tee.pending = True, []

    def _persist(self, finished: dict[str, Any], tee: _Tee) -> bool:
        """One transaction: node runs, the final run state (conditioned on the claim) and the events."""
        store = self.store
        assert isinstance(store, FreshRunStore)
        final = store.final
        with transaction.atomic():
            with connection.cursor() as cursor:  # the worker's durability trade-off (see runs.execution)
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            NodeRun.objects.bulk_create([NodeRun(run_id=self.run_id, node_id=r.node_id, **node_fields(r))
                                         for r in store.nodes])  # fmt: skip
            fields: dict[str, Any] = {
                "steps": finished.get("steps", 0),
                "elapsed_ms": finished.get("elapsed_ms"),
            }
            if final is not None:
                fields.update(
                    status=_FINAL_STATUS[final.status], outputs=final.outputs, error=final.error,
                    prompt_tokens=final.usage.prompt_tokens, completion_tokens=final.usage.completion_tokens,
                    started_at=final.started_at, finished_at=final.finished_at, inputs=final.inputs,
                )  # fmt: skip
            else:
                fields.update(status=RunStatus.FAILED, finished_at=timezone.now())
            if not Run.objects.filter(id=self.run_id, claim=self.claim).update(**fields):
                transaction.set_rollback(True)
                return False
            RunEvent.objects.bulk_create(tee.rows())
        self.final_fields = fields
        return True

    async def _fail(self, writer: RunEventWriter, error_type: str, message: str) -> None:
        tee = _Tee(writer, self.listener, buffered=False)
        await super()._fail(tee, error_type, message)  # type: ignore[arg-type]


_FINAL_STATUS = {
    "running": RunStatus.RUNNING,
    "succeeded": RunStatus.SUCCEEDED,
    "partial_succeeded": RunStatus.PARTIAL,
    "failed": RunStatus.FAILED,
    "cancelled": RunStatus.CANCELLED,
}


async def run_inline(
    run: Run,
    claim: uuid.UUID,
    *,
    context: DeploymentRun | None,
    listener: Listener | None = None,
    buffered: bool = False,
) -> DeploymentRunExecution:
    """Execute a run this request created and claimed (``buffered``: see ``DeploymentRunExecution``)."""
    execution = DeploymentRunExecution(
        run, claim, context=context, listener=listener, fresh=True, buffered=buffered and listener is None
    )
    await execution.execute()
    return execution


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
    """Execute inline and yield each event as soon as it is stored; ``None`` marks a keep-alive tick."""
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    async def listen(message: dict[str, Any]) -> None:
        await queue.put(message)

    async def drive() -> None:
        try:
            await run_inline(run, claim, context=context, listener=listen)
        finally:
            await queue.put(None)

    task = asyncio.ensure_future(drive())
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), settings.LLMOPS_API_KEEPALIVE_SECONDS)
            except TimeoutError:
                yield None
                continue
            if item is None:
                break
            yield item
        await task
    finally:
        if not task.done():
            # The client went away: stop here; the sweeper resumes the run on a worker (see the docstring).
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
