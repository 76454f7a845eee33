"""Writes on runs: start, cancel, rerun; the worker's claim; the sweeper's re-enqueue."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from llmops.accounts.models import User
from llmops.core import versioning
from llmops.core.enqueue import enqueue_on_commit
from llmops.core.errors import Conflict, ValidationError
from llmops.core.models import ResourceVersion
from llmops.runs.events import run_event_append
from llmops.runs.graphs import workflow_definition
from llmops.runs.models import FINAL_STATUSES, Run, RunStatus, Trigger
from llmops.studio.models import Workflow
from workflows import InputValidationError

logger = logging.getLogger(__name__)


def run_inputs_validate(version: ResourceVersion, inputs: dict[str, Any]) -> dict[str, Any]:
    """Coerce inputs against the version's declared fields; 400 naming each bad input (``inputs.<name>``)."""
    if not isinstance(inputs, dict):
        raise ValidationError("Inputs must be an object.", fields={"inputs": ["Expected an object."]})
    try:
        return workflow_definition(version).validate_inputs(inputs)
    except InputValidationError as exc:
        fields = {p.path or "inputs": [p.message] for p in exc.problems}
        raise ValidationError(
            "Invalid inputs: " + "; ".join(str(p) for p in exc.problems), fields=fields
        ) from None


@transaction.atomic
def run_start(
    *,
    workflow: Workflow,
    ref: str | int = "latest",
    inputs: dict[str, Any],
    user: User | None,
    trigger: str = Trigger.CONSOLE,
    deployment_id: int | None = None,
    api_key_id: int | None = None,
    end_user: str = "",
    rerun_of: Run | None = None,
) -> Run:
    """Accept a run: validate inputs, store it as queued, enqueue it once the row is committed.

    If the broker is down the run stays queued in PostgreSQL and the sweeper enqueues it later.
    """
    version = versioning.version_resolve(resource=workflow, ref=ref)
    run = Run.objects.create(
        workspace_id=workflow.workspace_id,
        workflow=workflow,
        workflow_version=version,  # type: ignore[misc]
        inputs=run_inputs_validate(version, inputs),
        created_by=user,
        trigger=trigger,
        deployment_id=deployment_id,
        api_key_id=api_key_id,
        end_user=end_user,
        rerun_of=rerun_of,
    )
    from llmops.runs.tasks import run_execute

    enqueue_on_commit(run_execute, str(run.id), robust=True)
    return run


def run_rerun(*, run: Run, user: User | None) -> Run:
    """Start a new run of the same pinned version with the same inputs (a debug run: of the same snapshot)."""
    if run.trigger == Trigger.DEBUG:
        from llmops.runs.debug import debug_rerun

        return debug_rerun(run=run, user=user)
    # A rerun is the console user's run: it carries none of an API call's key, deployment or chat turn.
    return run_start(
        workflow=run.workflow, ref=run.workflow_version.number, inputs=run.inputs, user=user,
        trigger=Trigger.CONSOLE, rerun_of=run,
    )  # fmt: skip


@transaction.atomic
def run_cancel(*, run: Run) -> Run:
    """Cancel a run: a queued run ends at once; a running one is flagged and its worker stops its nodes."""
    now = timezone.now()
    error = {"type": "Cancelled", "message": "run was cancelled before it started"}
    if Run.objects.filter(id=run.id, status=RunStatus.QUEUED).update(
        status=RunStatus.CANCELLED, finished_at=now, cancel_requested=True, error=error
    ):
        # Subscribers (SSE, websocket, blocking API calls) learn the end the way they learn any other.
        run_event_append(
            str(run.id), {"type": "run_finished", "status": "cancelled", "outputs": {}, "error": error}
        )
        run.refresh_from_db()
        return run
    if not Run.objects.filter(id=run.id).exclude(status__in=FINAL_STATUSES).update(cancel_requested=True):
        run.refresh_from_db()
        raise Conflict(f"Run {run.id} already ended ({run.status}); there is nothing to cancel.")
    run.refresh_from_db()
    return run


def heartbeat_stale_before() -> Any:
    """Running runs whose heartbeat is older than this are presumed orphaned (their worker died)."""
    return timezone.now() - timedelta(seconds=settings.LLMOPS_RUN_STALE_SECONDS)


def run_claim(*, run_id: str, claim: uuid.UUID) -> bool:
    """Compare-and-set: take a queued run, or a running one whose worker stopped heart-beating.

    Exactly one caller wins; a second delivery of the same task finds nothing to do.
    """
    now = timezone.now()
    claimable = Q(status=RunStatus.QUEUED, cancel_requested=False) | Q(
        status=RunStatus.RUNNING, heartbeat_at__lt=heartbeat_stale_before(),
        attempts__lt=settings.LLMOPS_RUN_MAX_ATTEMPTS,
    )  # fmt: skip
    won = Run.objects.filter(claimable, id=run_id).update(
        status=RunStatus.RUNNING, claim=claim, heartbeat_at=now, attempts=F("attempts") + 1,
        worker=f"{socket.gethostname()}:{os.getpid()}",
    )  # fmt: skip
    return won == 1


@transaction.atomic
def _orphans_mark_enqueued() -> list[tuple[Any, int | None]]:
    """Select the orphans and stamp ``enqueued_at`` in one short transaction.

    The stamp bounds duplicates: a run still waiting behind a long queue gets at most one extra message per
    period, not one per sweep; ``skip_locked`` keeps two sweepers from taking the same rows.
    """
    now = timezone.now()
    stale = heartbeat_stale_before()
    queued = Q(
        status=RunStatus.QUEUED, cancel_requested=False,
        enqueued_at__lt=now - timedelta(seconds=settings.LLMOPS_RUN_REQUEUE_SECONDS),
    )  # fmt: skip
    orphaned = Q(
        status=RunStatus.RUNNING, heartbeat_at__lt=stale, enqueued_at__lt=stale,
        attempts__lt=settings.LLMOPS_RUN_MAX_ATTEMPTS,
    )  # fmt: skip
    ids = list(
        Run.objects.select_for_update(skip_locked=True)
        .filter(queued | orphaned)
        .values_list("id", "deployment_id")[:500]
    )
    Run.objects.filter(id__in=[run_id for run_id, _ in ids]).update(enqueued_at=now)
    return ids


# The sweeper runs every few seconds, so it logs only what it changed, and a broker outage once (per worker
# process) rather than at every sweep until the broker is back.
_broker_down = False


@transaction.atomic
def _exhausted_runs_fail() -> list[str]:
    """Fail the stale runs already claimed ``LLMOPS_RUN_MAX_ATTEMPTS`` times, with the reason as their error.

    A run whose every worker stops heart-beating is more likely wedging them (a node that never yields) than
    unlucky; handing it on would pin one worker after another until the whole ``runs`` queue is stuck.
    """
    limit = settings.LLMOPS_RUN_MAX_ATTEMPTS
    error = {
        "type": "RunAttemptsExhausted",
        "message": f"the run was taken over {limit} times and its worker stopped responding each time (a node "
        "may keep its worker busy, or the worker ran out of memory); it is not retried again",
    }
    stale = Q(status=RunStatus.RUNNING, heartbeat_at__lt=heartbeat_stale_before(), attempts__gte=limit)
    ids = list(
        Run.objects.select_for_update(skip_locked=True).filter(stale).values_list("id", flat=True)[:500]
    )
    failed = [str(run_id) for run_id in ids]
    # The claim goes too: a wedged worker that wakes up later owns nothing and cannot overwrite the failure.
    Run.objects.filter(stale, id__in=ids).update(
        status=RunStatus.FAILED, error=error, finished_at=timezone.now(), claim=None
    )
    for run_id in failed:
        run_event_append(run_id, {"type": "run_finished", "status": "failed", "outputs": {}, "error": error})
    if failed:
        logger.warning(
            "the sweeper failed %d run(s) past %d attempts: %s", len(failed), limit, ", ".join(failed)
        )
    return failed


def runs_sweep() -> int:
    """Re-enqueue runs nobody is executing: queued ones never picked up (the broker was down) and
    running ones whose heartbeat expired (the worker was killed). Returns how many were re-enqueued."""
    global _broker_down
    _exhausted_runs_fail()
    orphans = _orphans_mark_enqueued()
    sent: list[str] = []
    for run_id, deployment_id in orphans:
        # A published endpoint's run resumes through its own task, which restores the chat turn and sends
        # the webhook (named, not imported: deployments builds on runs, not the other way round).
        task = "llmops.deployments.execute" if deployment_id else "llmops.runs.execute"
        try:
            current_app.send_task(task, args=[str(run_id)], queue="runs")
        except Exception:  # broker still down: try again on the next sweep
            if not _broker_down:
                logger.warning("the sweeper cannot re-enqueue runs: the broker is unavailable; retrying")
            _broker_down = True
            break
        sent.append(str(run_id))
    if sent:
        if _broker_down:
            logger.info("the sweeper reaches the broker again")
        _broker_down = False
        shown = ", ".join(sent[:10]) + (f" and {len(sent) - 10} more" if len(sent) > 10 else "")
        logger.info("the sweeper re-enqueued %d run(s) no worker was executing: %s", len(sent), shown)
    return len(sent)
