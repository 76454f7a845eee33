"""Run execution's one home: every way a run (or a chain call) is executed.

Modes, one module each:

- ``worker``: a Celery task claims the run (compare-and-set) and executes it, resuming from its checkpoints.
- ``inline``: the web process executes a run it created and claimed, with a worker's claim, checkpoints,
  heartbeat and stored events; a streaming caller gets each event as soon as it is stored.
- ``instant``: a small workflow of fast nodes executed in memory, then stored finished in one statement.
- ``chain``: a chain call executed inside the request (blocking or streamed) under a renewed lease.

``claimed`` is what worker and inline share (``ClaimedExecution``); ``context`` what a caller passes in (the
chat turn, an event listener). Console and scheduled runs are enqueued for a worker by
``runs.services.run_start``; a public API call is admitted by ``deployments.services.deployment_run_admit``,
which decides its mode and returns an ``Execution`` (a tagged union of the three run modes) that the view
finishes (``execution_finish``, blocking) or follows (``execution_events``, streaming). Events are stored by
``runs.events`` (``RunEventWriter``), checkpoints by ``runs.store``; a claimed execution's writes are guarded
by ``runs.claimed_writes``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, assert_never

from asgiref.sync import async_to_sync

from llmops.runs.execution.context import ChatContext, Listener
from llmops.runs.execution.inline import inline_events, run_inline
from llmops.runs.execution.worker import wait_finished
from llmops.runs.models import Run
from llmops.runs.streaming import from_list, run_events

__all__ = [
    "ChatContext",
    "Execution",
    "InlineExecution",
    "InstantExecution",
    "Listener",
    "WorkerExecution",
    "execution_events",
    "execution_finish",
]


@dataclass(frozen=True, slots=True)
class InstantExecution:
    """Executed in memory and stored finished already; ``events`` as stored."""

    run: Run
    events: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class InlineExecution:
    """Created and claimed by this process, which executes it when finished or followed."""

    run: Run
    claim: uuid.UUID
    chat: ChatContext | None = None


@dataclass(frozen=True, slots=True)
class WorkerExecution:
    """Executed by a worker (enqueued), or an earlier call's run (``replayed``: an ``Idempotency-Key``)."""

    run: Run
    replayed: bool = False


Execution = InstantExecution | InlineExecution | WorkerExecution


def execution_finish(execution: Execution, *, timeout: float) -> Run:
    """Blocking: execute an inline run here, or wait up to ``timeout`` seconds for a worker's run to end;
    return the run as stored then (still running when the wait timed out)."""
    match execution:
        case InstantExecution(run=run):
            return run  # finished and stored already: nothing to read back
        case InlineExecution(run=run, claim=claim, chat=chat):
            async_to_sync(run_inline)(run, claim, chat=chat)
        case WorkerExecution(run=run):
            if not run.is_final:
                async_to_sync(wait_finished)(str(run.id), timeout)
        case _:
            assert_never(execution)
    return Run.objects.select_related("workflow_version").defer("workflow_version__content").get(id=run.id)


def execution_events(execution: Execution) -> AsyncIterator[dict[str, Any] | None]:
    """Streaming: the run's events as they are stored (executing an inline run here); ``None`` marks a
    keep-alive tick."""
    match execution:
        case InstantExecution(events=events):
            return from_list(events)
        case InlineExecution(run=run, claim=claim, chat=chat):
            return inline_events(run, claim, chat=chat)
        case WorkerExecution(run=run):
            return run_events(str(run.id))
        case _:
            assert_never(execution)
