"""A claimed execution: the engine with the Django adapters, checkpoints, stored events, heartbeat, one finish.

The worker and inline modes both run a ``ClaimedExecution``: the caller has won the run's claim (the
compare-and-set ``runs.services.run_claim``) and hands it in with the run, the chat turn (``ChatContext``) and
a listener that gets each event once stored. Every checkpoint and event is written only while the claim still
owns the run (``llmops.runs.claimed_writes``): an execution that lost the run to another one stops quietly at
its next write, or at its next heartbeat, whichever comes first.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import replace
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from llmops.runs.claimed_writes import ClaimLost
from llmops.runs.conversations import (
    CONFLICT_ERROR,
    LoadedConversation,
    conversation_load,
    conversation_save,
    run_options,
)
from llmops.runs.events import RunEventWriter
from llmops.runs.execution.context import ChatContext, Listener
from llmops.runs.execution.limits import run_limits
from llmops.runs.graphs import compiled_graph
from llmops.runs.models import FINAL_STATUSES, Run, RunStatus
from llmops.runs.ports import build_ports_async
from llmops.runs.store import DjangoRunStore
from llmops.usage.models import UsageRecord
from workflows import Event, Executor, RunRecord

logger = logging.getLogger(__name__)


def prepare_connection() -> None:
    """Make the worker's database session fit for a run (see the comments)."""
    # The async ORM runs in asgiref's one shared thread, whose connection Celery's own per-task cleanup
    # never sees: drop it when broken or past CONN_MAX_AGE, or a database restart breaks every later run.
    close_old_connections()
    # Checkpoints and events must survive the *worker's* death, which any commit guarantees; waiting for
    # the WAL flush on every node only protects against PostgreSQL itself crashing, where at worst the last
    # few hundred ms of checkpoints are lost and those nodes run again on resume. Per session, so only
    # this worker's run writes are affected.
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")


class ClaimedExecution:
    """One execution of a run whose claim the caller won.

    ``chat``: the chat turn the run executes with; ``listener``: called with each event once it is stored;
    ``fresh``: the run was created by this caller and has no checkpoints or events yet (nothing to load).
    """

    def __init__(
        self,
        run: Run,
        claim: uuid.UUID,
        *,
        chat: ChatContext | None = None,
        listener: Listener | None = None,
        fresh: bool = False,
    ) -> None:
        self.run = run
        self.run_id = str(run.id)
        self.claim = claim
        self.chat = chat
        self.listener = listener
        self.fresh = fresh
        self.lost = False
        self.finished = False  # this execution wrote the final state
        self.conversation: LoadedConversation | None = None  # a chat turn's stored conversation

    def _owned(self) -> Any:
        return Run.objects.filter(id=self.run.id, claim=self.claim)

    async def execute(self) -> None:
        """Run the engine to the end, storing and publishing every event."""
        writer, self.store = await self._prepare()
        try:
            self.conversation = await sync_to_async(conversation_load)(run=self.run, chat=self.chat)
            executor = Executor(
                compiled_graph(self.run.workflow_version),
                ports=await build_ports_async(self.run),
                store=self.store,
                limits=run_limits(),
            )
        except Exception as exc:  # an invalid pinned version cannot run: fail with the reason, never crash
            await self._fail(writer, type(exc).__name__, str(exc))
            return
        heartbeat = asyncio.create_task(self._heartbeat(executor))
        try:
            await self._drive(executor, writer)
        except ClaimLost:
            logger.info("run %s was taken over by another execution; this one stops", self.run_id)
            self._lose(executor)
        except Exception as exc:
            logger.exception("run %s crashed", self.run_id)
            await self._fail(writer, type(exc).__name__, str(exc))
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)

    async def _prepare(self) -> tuple[RunEventWriter, DjangoRunStore]:
        """The event writer (numbering continues after a resumed run's events) and the store."""
        store = DjangoRunStore(self.claim, defer_final=True, fresh=self.fresh)
        if self.fresh:  # created by this caller: no events, no checkpoints, nothing to load
            return RunEventWriter(self.run_id, 1, claim=self.claim), store
        await sync_to_async(prepare_connection)()
        return await RunEventWriter.for_run(self.run_id, claim=self.claim), store

    def _events(self, executor: Executor) -> AsyncGenerator[Event]:
        events = executor.run(
            self.run_id, self.run.inputs,
            user_id=str(self.run.created_by_id) if self.run.created_by_id else None,
            workspace_id=str(self.run.workspace_id),
            **(self.chat.run_options() if self.chat else {}) | run_options(self.conversation),
        )  # fmt: skip
        return cast(AsyncGenerator[Event], events)  # an async generator, declared as an iterator

    async def _drive(self, executor: Executor, writer: RunEventWriter) -> None:
        # Closed on the way out: a lost claim (``ClaimLost`` from a write) stops the engine's nodes at once.
        async with aclosing(self._events(executor)) as events:
            async for event in events:
                if self.lost:
                    continue  # another execution owns the run now: publish nothing more
                data = event.to_dict()
                if data["type"] == "run_finished" and not await self._finish(data):
                    self.lost = True
                    continue
                await self._publish(writer, data)

    async def _publish(self, writer: RunEventWriter, event: dict[str, Any]) -> None:
        """Store and publish one event, then hand it to the listener."""
        message = await writer.write(event)
        if self.listener is not None:
            await self.listener(message)

    async def _finish(self, finished: dict[str, Any]) -> bool:
        """Write the final state in one update, before ``run_finished`` is published: a subscriber that sees
        the event then reads a complete run. False when another execution owns the run."""
        final = self.store.final
        if final is None:  # the engine always saves a final record first; be defensive
            failed = (
                await self._owned()
                .exclude(status__in=FINAL_STATUSES)
                .aupdate(status=RunStatus.FAILED, finished_at=timezone.now())
            )
            self.finished = bool(failed)
            return self.finished
        spent = await UsageRecord.objects.filter(run_id=self.run_id).aaggregate(total=Sum("cost"))
        extra = {"steps": finished.get("steps", 0), "elapsed_ms": finished.get("elapsed_ms"),
                 "cost": spent["total"] or 0}  # fmt: skip
        if self.conversation is not None:
            written = await sync_to_async(self._finish_with_conversation)(final, finished, extra)
        else:
            written = await self.store.write_run(final, **extra)
        self.finished = bool(written)
        return self.finished

    def _finish_with_conversation(
        self, final: RunRecord, finished: dict[str, Any], extra: dict[str, Any]
    ) -> int:
        """The final state and the conversation's new state in one transaction; a turn that lost the race for
        the conversation fails (its ``run_finished`` event says so) instead of overwriting the other's update."""
        assert self.conversation is not None
        with transaction.atomic():
            if final.status in ("succeeded", "partial_succeeded") and not conversation_save(
                loaded=self.conversation, final=final
            ):
                final = replace(final, status="failed", error=CONFLICT_ERROR)
                finished.update(status="failed", error=CONFLICT_ERROR)
            written = self.store.write_run_sync(final, **extra)
            if not written:  # another execution owns the run: it saves the conversation, not this one
                transaction.set_rollback(True)
            return written

    async def _heartbeat(self, executor: Executor) -> None:
        """Keep the claim alive; stop the engine when the run is cancelled or taken over.

        It keeps beating after a cancel (so the run is not taken over while its nodes unwind) and survives a
        transient database error (a dead heartbeat would let another worker take a healthy run).
        """
        cancelled = False
        while True:
            await asyncio.sleep(settings.LLMOPS_RUN_HEARTBEAT_SECONDS)
            try:
                alive = (
                    await self._owned()
                    .exclude(status__in=FINAL_STATUSES)
                    .aupdate(heartbeat_at=timezone.now())
                )
                if not alive:  # taken over, or ended by someone else (the sweeper, a cancel): stop the engine
                    if not self.finished:
                        self._lose(executor)
                    return
                if not cancelled and await self._owned().filter(cancel_requested=True).aexists():
                    cancelled = True
                    executor.cancel()
            except Exception:
                logger.warning("heartbeat of run %s failed; retrying", self.run_id, exc_info=True)

    def _lose(self, executor: Executor) -> None:
        """Another execution owns the run now: stop the engine and write nothing more."""
        self.lost = True
        self.store.stopped = True
        executor.cancel()

    async def _fail(self, writer: RunEventWriter, error_type: str, message: str) -> None:
        try:
            await self._store_failure(writer, error_type, message)
        except ClaimLost:  # taken over meanwhile: the new owner ends the run
            logger.info("run %s was taken over by another execution while failing", self.run_id)

    async def _store_failure(self, writer: RunEventWriter, error_type: str, message: str) -> None:
        error = {"type": error_type, "message": message[:2000]}
        updated = (
            await self._owned()
            .exclude(status__in=FINAL_STATUSES)
            .aupdate(status=RunStatus.FAILED, error=error, finished_at=timezone.now())
        )
        if updated:
            await self._publish(
                writer, {"type": "error", "run_id": self.run_id, "error_type": error_type, "message": message}
            )
            await self._publish(
                writer,
                {
                    "type": "run_finished",
                    "run_id": self.run_id,
                    "status": "failed",
                    "outputs": {},
                    "error": error,
                },
            )
