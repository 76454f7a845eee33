"""A worker executing one run: claim it, run the engine with the Django adapters, heartbeat, finish once."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Sum
from django.utils import timezone

from llmops.runs.events import RunEventWriter
from llmops.runs.graphs import compiled_graph
from llmops.runs.models import FINAL_STATUSES, Run, RunStatus
from llmops.runs.ports import build_ports
from llmops.runs.services import run_claim
from llmops.runs.store import DjangoRunStore
from llmops.usage.models import UsageRecord
from workflows import Event, Executor, Ports, RunLimits

logger = logging.getLogger(__name__)


def execute_run(*, run_id: str) -> None:
    """Execute or resume ``run_id`` if this caller wins the claim; return quietly otherwise."""
    claim = uuid.uuid4()
    if not run_claim(run_id=run_id, claim=claim):
        return
    run = Run.objects.select_related("workflow_version", "workspace").get(id=run_id)
    asyncio.run(RunExecution(run, claim).execute())


def _prepare_connection() -> None:
    # The async ORM runs in asgiref's one shared thread, whose connection Celery's own per-task cleanup
    # never sees: drop it when broken or past CONN_MAX_AGE, or a database restart breaks every later run.
    close_old_connections()
    # Checkpoints and events must survive the *worker's* death, which any commit guarantees; waiting for
    # the WAL flush on every node only protects against PostgreSQL itself crashing, where at worst the last
    # few hundred ms of checkpoints are lost and those nodes run again on resume. Per session, so only
    # this worker's run writes are affected.
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")


class RunExecution:
    """One claimed execution of a run inside a worker process."""

    def __init__(self, run: Run, claim: uuid.UUID) -> None:
        self.run = run
        self.run_id = str(run.id)
        self.claim = claim
        self.lost = False

    def _owned(self) -> Any:
        return Run.objects.filter(id=self.run.id, claim=self.claim)

    async def execute(self) -> None:
        """Run the engine to the end, storing and publishing every event."""
        writer, self.store = await self._prepare()
        try:
            executor = Executor(
                compiled_graph(self.run.workflow_version),
                ports=self._ports(),
                store=self.store,
                limits=RunLimits(max_seconds=settings.LLMOPS_RUN_MAX_SECONDS),
            )
        except Exception as exc:  # an invalid pinned version cannot run: fail with the reason, never crash
            await self._fail(writer, type(exc).__name__, str(exc))
            return
        heartbeat = asyncio.create_task(self._heartbeat(executor))
        try:
            await self._drive(executor, writer)
        except Exception as exc:
            logger.exception("run %s crashed", self.run_id)
            await self._fail(writer, type(exc).__name__, str(exc))
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)

    async def _prepare(self) -> tuple[RunEventWriter, DjangoRunStore]:
        """The event writer (numbering continues after a resumed run's events) and the store."""
        await sync_to_async(_prepare_connection)()
        return await RunEventWriter.for_run(self.run_id), DjangoRunStore(self.claim, defer_final=True)

    def _ports(self) -> Ports:
        return build_ports(self.run)

    def _run_options(self) -> dict[str, Any]:
        """Extra ``Executor.run`` arguments (a chat turn's query and history)."""
        return {}

    def _events(self, executor: Executor) -> AsyncIterator[Event]:
        return executor.run(
            self.run_id, self.run.inputs,
            user_id=str(self.run.created_by_id) if self.run.created_by_id else None,
            workspace_id=str(self.run.workspace_id), **self._run_options(),
        )  # fmt: skip

    async def _drive(self, executor: Executor, writer: RunEventWriter) -> None:
        async for event in self._events(executor):
            if self.lost:
                continue  # another worker owns the run now: publish nothing more
            data = event.to_dict()
            if data["type"] == "run_finished" and not await self._finish(data):
                self.lost = True
                continue
            await writer.write(data)

    async def _finish(self, finished: dict[str, Any]) -> bool:
        """Write the final state in one update, before ``run_finished`` is published: a subscriber that sees
        the event then reads a complete run. False when another execution owns the run."""
        final = self.store.final
        if final is None:  # the engine always saves a final record first; be defensive
            return bool(await self._owned().aupdate(status=RunStatus.FAILED, finished_at=timezone.now()))
        spent = await UsageRecord.objects.filter(run_id=self.run_id).aaggregate(total=Sum("cost"))
        written = await self.store.write_run(
            final,
            steps=finished.get("steps", 0),
            elapsed_ms=finished.get("elapsed_ms"),
            cost=spent["total"] or 0,
        )
        return bool(written)

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
                if not alive:
                    if not await self._owned().aexists():
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
        error = {"type": error_type, "message": message[:2000]}
        updated = (
            await self._owned()
            .exclude(status__in=FINAL_STATUSES)
            .aupdate(status=RunStatus.FAILED, error=error, finished_at=timezone.now())
        )
        if updated:
            await writer.write(
                {"type": "error", "run_id": self.run_id, "error_type": error_type, "message": message}
            )
            await writer.write(
                {
                    "type": "run_finished",
                    "run_id": self.run_id,
                    "status": "failed",
                    "outputs": {},
                    "error": error,
                }
            )
