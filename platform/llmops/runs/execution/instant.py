"""Instant mode: a fast workflow executed in memory first, then written in one transaction.

A workflow made only of ``FAST_NODE_TYPES`` (no model, code, HTTP or retrieval call) finishes in well under a
millisecond and has no side effects. Its blocking and streaming calls (without an ``Idempotency-Key``) are
therefore executed *before* anything is written: the engine runs in memory, then the run row (already final),
its node runs and its events are inserted by one statement, and the events are streamed to the caller from
memory. A call is then 4 round trips to PostgreSQL (key, deployment, version, the write) instead of ~12
(create, claim, then checkpoints, final state and events in a second transaction), and no claim, heartbeat
or publishing: nobody can subscribe to a run whose id has not been returned yet, and there is nothing to
resume.

What a caller and the console see is the same as for any run: a ``Run`` with its ``NodeRun`` rows and its
numbered ``RunEvent`` sequence (``run_started`` ... ``run_finished``). The caller admits the call first (the
deployment checks its inputs and its concurrency limit; an instant run never holds a slot itself: it is stored
finished) and hands in the unsaved ``Run`` it would have created. If the process dies before the commit, the
call fails and leaves no trace, as if it had never arrived; a run is never half-written.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import connection, transaction

from llmops.runs.conversations import (
    CONFLICT_ERROR,
    LoadedConversation,
    conversation_load,
    conversation_save,
    run_options,
)
from llmops.runs.execution.context import ChatContext
from llmops.runs.execution.limits import run_limits
from llmops.runs.models import Run, RunStatus
from llmops.runs.store import STATUS, node_fields
from workflows import CompiledGraph, Executor, NodeRecord, RunRecord

_WORKER = f"{socket.gethostname()}:{os.getpid()}"


# Node types that finish in microseconds: a workflow of only these may run instantly (or in the web process).
FAST_NODE_TYPES = frozenset(
    {"start", "end", "answer", "template", "if_else", "variable_aggregator", "list_operator"}
)


def fast_graph(version: Any) -> bool:
    """Whether the version is small and made only of ``FAST_NODE_TYPES`` (no model, code or HTTP call)."""
    nodes = version.content.get("nodes", [])
    return len(nodes) <= settings.LLMOPS_API_INLINE_MAX_NODES and all(
        node.get("type") in FAST_NODE_TYPES for node in nodes
    )


@dataclass
class _Recorder:
    """The engine's ``RunStore`` for an instant run: keeps the node records and the final run record."""

    nodes: list[NodeRecord] = field(default_factory=list)
    final: RunRecord | None = None

    async def checkpoint(self, run_id: str, record: NodeRecord) -> None:
        self.nodes.append(record)

    async def load(self, run_id: str) -> list[NodeRecord]:
        return []

    async def save_run(self, record: RunRecord) -> None:
        if record.status != "running":
            self.final = record

    async def load_run(self, run_id: str) -> RunRecord | None:
        return None


async def _execute(
    graph: CompiledGraph, run: Run, chat: ChatContext | None, recorder: _Recorder, options: dict[str, Any]
) -> list[dict[str, Any]]:
    executor = Executor(graph, store=recorder, limits=run_limits())
    events = executor.run(str(run.id), run.inputs, workspace_id=str(run.workspace_id), **options)
    numbered: list[dict[str, Any]] = []
    async for event in events:
        numbered.append({"seq": len(numbered) + 1, **event.to_dict()})
    return numbered


# The run, its node runs and its events in one statement (atomic by itself: no BEGIN/COMMIT round trips).
# The run row's columns come from the model (so a new column needs no change here); node runs and events each
# travel as one JSON document expanded by PostgreSQL (``bulk_create`` would quote every value of every row in
# Python, the most expensive step of a call).
_WRITE_SQL = """
WITH run AS (
    INSERT INTO runs_run ({run_columns}) VALUES ({run_values})
), nodes AS (
    INSERT INTO runs_noderun (run_id, node_id, node_type, status, outputs, error, attempts, branch, started_at,
                              finished_at, prompt_tokens, completion_tokens, cached_tokens, sequence)
    SELECT %(run_id)s, n.node_id, n.node_type, n.status, n.outputs, n.error, n.attempts, n.branch, n.started_at,
           n.finished_at, n.prompt_tokens, n.completion_tokens, n.cached_tokens, n.sequence
    FROM jsonb_to_recordset(%(nodes)s::jsonb) AS n(
        node_id text, node_type text, status text, outputs jsonb, error jsonb, attempts int, branch text,
        started_at timestamptz, finished_at timestamptz, prompt_tokens int, completion_tokens int,
        cached_tokens int, sequence bigint)
)
INSERT INTO runs_runevent (run_id, seq, type, data, created_at)
SELECT %(run_id)s, e.seq, e.type, e.data, now()
FROM jsonb_to_recordset(%(events)s::jsonb) AS e(seq int, type text, data jsonb)
"""


def _timestamp(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()  # microseconds kept (DjangoJSONEncoder would cut them to milliseconds)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _write(run: Run, nodes: list[NodeRecord], events: list[dict[str, Any]]) -> None:
    """Insert the finished run with its node runs and events (one statement)."""
    fields = Run._meta.concrete_fields
    params: dict[str, Any] = {
        f"r{i}": field.get_db_prep_save(field.pre_save(run, add=True), connection)
        for i, field in enumerate(fields)
    }
    sql = _WRITE_SQL.format(
        run_columns=", ".join(connection.ops.quote_name(str(field.column)) for field in fields),
        run_values=", ".join(f"%(r{i})s" for i in range(len(fields))),
    )
    node_rows = [{"node_id": r.node_id, **node_fields(r)} for r in nodes]
    event_rows = [{"seq": e["seq"], "type": e["type"], "data": e} for e in events]
    params.update(
        run_id=run.pk,
        nodes=json.dumps(node_rows, default=_timestamp),
        events=json.dumps(event_rows, default=_timestamp),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    run._state.adding, run._state.db = False, connection.alias


def instant_run(
    *,
    run: Run,
    graph: CompiledGraph,
    chat: ChatContext | None = None,
    store_with: Callable[[Run], None] | None = None,
) -> list[dict[str, Any]]:
    """Execute ``run`` (unsaved: its identity, attribution and validated inputs) in memory, store it finished
    in one statement and return its events (numbered from 1, as stored). ``store_with`` writes the caller's
    own rows of the run (a chat turn's context) in the same transaction."""
    recorder = _Recorder()
    conversation = conversation_load(run=run, chat=chat)
    options = (chat.run_options() if chat else {}) | run_options(conversation)
    events = async_to_sync(_execute)(graph, run, chat, recorder, options)
    finished = events[-1] if events and events[-1]["type"] == "run_finished" else {}
    final = recorder.final
    run.worker, run.attempts = _WORKER, 1
    run.steps, run.elapsed_ms = finished.get("steps", 0), finished.get("elapsed_ms")
    if final is not None:
        run.status = STATUS[final.status]
        run.inputs, run.outputs, run.error = final.inputs, final.outputs, final.error
        run.prompt_tokens, run.completion_tokens = final.usage.prompt_tokens, final.usage.completion_tokens
        run.started_at, run.finished_at = final.started_at, final.finished_at
    else:  # the engine always records a final state; be defensive rather than store a "running" row
        run.status, run.error = RunStatus.FAILED, {"type": "EngineError", "message": "the run did not finish"}
    if store_with is None and conversation is None:
        _write(run, recorder.nodes, events)
        return events
    with transaction.atomic():
        if conversation is not None and final is not None:
            _save_conversation(run, conversation, final, events)
        _write(run, recorder.nodes, events)
        if store_with is not None:
            store_with(run)
    return events


def _save_conversation(
    run: Run, conversation: LoadedConversation, final: RunRecord, events: list[dict[str, Any]]
) -> None:
    """A succeeded turn's conversation state; the turn fails when another one changed it first."""
    succeeded = run.status in (RunStatus.SUCCEEDED, RunStatus.PARTIAL)
    if succeeded and not conversation_save(loaded=conversation, final=final):
        run.status, run.error = RunStatus.FAILED, CONFLICT_ERROR
        events[-1].update(status="failed", error=CONFLICT_ERROR)
