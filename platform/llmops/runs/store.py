"""The engine's RunStore on PostgreSQL: each finished node is a ``NodeRun`` row.

So is each finished iteration item / loop round (the engine's body records, ``NodeRecord.is_body_run``): its
``node_id`` is ``<container>#<index>`` (``<outer>#<i>/<inner>#<j>`` when nested; ``#`` never occurs in a
node id) and its ``node_type`` ``iteration_item`` or ``loop_round``. In the run's timeline (checkpoint order)
a container's items precede the container's own row; the console tells them apart by the ``#``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from django.db.models import QuerySet

from llmops.runs.claimed_writes import claimed_insert
from llmops.runs.models import FINAL_STATUSES, NodeRun, Run, RunStatus
from workflows import NodeRecord, RunRecord, Usage

# Engine run states -> platform run states.
STATUS = {
    "running": RunStatus.RUNNING,
    "succeeded": RunStatus.SUCCEEDED,
    "partial_succeeded": RunStatus.PARTIAL,
    "failed": RunStatus.FAILED,
    "cancelled": RunStatus.CANCELLED,
}
_ENGINE_STATUS: dict[str, str] = {str(value): key for key, value in STATUS.items()}


def node_fields(record: NodeRecord) -> dict[str, Any]:
    """The ``NodeRun`` columns of a checkpointed node."""
    return {
        "node_type": record.node_type,
        "status": record.status,
        "outputs": record.outputs,
        "error": record.error,
        "attempts": record.attempts,
        "branch": record.branch,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "prompt_tokens": record.usage.prompt_tokens,
        "completion_tokens": record.usage.completion_tokens,
        "cached_tokens": record.usage.cached_tokens,
        # Checkpoint order across processes: nanosecond wall clock (one writer per run at a time).
        "sequence": time.time_ns() // 1000,
    }


def _record(row: NodeRun) -> NodeRecord:
    return NodeRecord(
        node_id=row.node_id,
        node_type=row.node_type,
        status=row.status,  # type: ignore[arg-type]
        outputs=row.outputs,
        error=row.error,
        attempts=row.attempts,
        started_at=row.started_at,
        finished_at=row.finished_at,
        usage=Usage(row.prompt_tokens, row.completion_tokens, row.cached_tokens),
        branch=row.branch,
    )


def _run_fields(record: RunRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "status": STATUS[record.status],
        "inputs": record.inputs,
        "outputs": record.outputs,
        "error": record.error,
        "prompt_tokens": record.usage.prompt_tokens,
        "completion_tokens": record.usage.completion_tokens,
    }
    if record.started_at is not None:
        fields["started_at"] = record.started_at
    if record.finished_at is not None:
        fields["finished_at"] = record.finished_at
    return fields


class DjangoRunStore:
    """``RunStore`` over ``Run``/``NodeRun``.

    With a ``claim`` (the execution that owns the run) every write lands only while that claim still owns the
    run: a checkpoint of an execution that lost the run raises ``ClaimLost`` (see
    ``llmops.runs.claimed_writes``), a run-level write changes nothing. ``fresh``: the run was created by this
    execution's caller, so there is nothing to load (no checkpoints, no earlier state).
    """

    def __init__(
        self, claim: uuid.UUID | None = None, *, defer_final: bool = False, fresh: bool = False
    ) -> None:
        self.claim = claim
        # A worker defers the final state so it lands in one write with the totals of ``run_finished``.
        self.defer_final = defer_final
        self.fresh = fresh
        self.final: RunRecord | None = None
        # Set when the execution lost the run to another worker: its late checkpoints must not land.
        self.stopped = False

    async def checkpoint(self, run_id: str, record: NodeRecord) -> None:
        """Persist a finished node, replacing an earlier record of the same node, in one upsert statement."""
        if self.stopped:
            return
        fields = node_fields(record)
        if self.claim is not None:
            await claimed_insert(
                NodeRun, run_id=run_id, claim=self.claim, values={"node_id": record.node_id, **fields},
                conflict=("run", "node_id"),
            )  # fmt: skip
            return
        await NodeRun.objects.abulk_create(
            [NodeRun(run_id=run_id, node_id=record.node_id, **fields)],
            update_conflicts=True,
            unique_fields=["run", "node_id"],
            update_fields=list(fields),
        )

    async def load(self, run_id: str) -> list[NodeRecord]:
        """Every finished node, in checkpoint order."""
        if self.fresh:
            return []
        return [
            _record(row) async for row in NodeRun.objects.filter(run_id=run_id).order_by("sequence", "id")
        ]

    async def save_run(self, record: RunRecord) -> None:
        """Persist run status, outputs, error and token totals (conditioned on the claim when set)."""
        if self.defer_final and record.status != "running":
            self.final = record
            return
        await self.write_run(record)

    async def write_run(self, record: RunRecord, **extra: Any) -> int:
        """Write run-level state (plus ``extra`` columns); returns 0 when the claim no longer owns the run or
        the run already ended (failed by the sweeper, cancelled): a final status is never overwritten."""
        return await self._run_rows(record).aupdate(**_run_fields(record), **extra)

    def write_run_sync(self, record: RunRecord, **extra: Any) -> int:
        """``write_run`` for a caller inside a transaction (the final state with rows written beside it)."""
        return self._run_rows(record).update(**_run_fields(record), **extra)

    def _run_rows(self, record: RunRecord) -> QuerySet[Run]:
        rows = Run.objects.filter(id=record.run_id)
        if self.claim is not None:
            rows = rows.filter(claim=self.claim).exclude(status__in=FINAL_STATUSES)
        return rows

    async def load_run(self, run_id: str) -> RunRecord | None:
        """Run-level state in the engine's terms, or None for an unknown run."""
        if self.fresh:
            return None
        try:
            run = await Run.objects.aget(id=run_id)
        except (Run.DoesNotExist, ValueError):
            return None
        status = _ENGINE_STATUS.get(run.status, "running")
        return RunRecord(
            run_id=str(run.id),
            status=status,  # type: ignore[arg-type]  # a RunStatus literal by construction
            inputs=run.inputs,
            outputs=run.outputs,
            error=run.error,
            started_at=run.started_at,
            finished_at=run.finished_at,
            usage=Usage(run.prompt_tokens, run.completion_tokens),
        )
