"""Executing an evaluation run on the ``evals`` workers: slots claim items, run the target, score them.

A run starts ``max_concurrency`` slots (Celery tasks). A slot claims the next pending item (compare-and-set
under ``SKIP LOCKED``), executes the target, scores the output with every evaluator, and writes the result
only while it still holds the claim; then it takes the next item, until none is left. A workflow version runs
through run execution's one home (``llmops.runs.execution``: small graphs of fast nodes instantly, others
inline with a worker's claim, checkpoints and heartbeat; the target run is stored with trigger
``evaluation``); a prompt or chain version is called as its other callers call it
(``llmops.evaluations.targets``).

Crash safety: the target run's id is stored on the item before the target executes. A worker killed
mid-item leaves the item ``running``; the sweep (``evaluations_sweep``) hands it back after
``LLMOPS_EVAL_ITEM_STALE_SECONDS`` and starts a slot; the next claimant scores the target run the first
one started (which the runs sweeper resumes from its checkpoints if it was cut short) instead of running the
target again, and a late write of the first claimant is refused by the claim check. Nothing is lost, nothing
is scored twice, and a workflow's model calls are not paid twice. A prompt or chain call has no checkpoint:
one cut short is made again under the same ``trace_id`` (its usage rows, both calls, show what it cost).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from llmops.accounts.events import workspace_group
from llmops.core.errors import LLMOpsError
from llmops.evaluations.evaluators import EvalCase, Score, combine, evaluate
from llmops.evaluations.evaluators.deterministic import SCORERS
from llmops.evaluations.models import (
    FINAL_RUN_STATUSES,
    EvaluationItem,
    EvaluationRun,
    ItemStatus,
    RunStatus,
    TargetKind,
)
from llmops.evaluations.targets import CallOutcome, chain_call, new_trace_id, prompt_call
from llmops.knowledge.recording import knowledge_versions_record
from llmops.runs.execution.inline import run_inline
from llmops.runs.execution.instant import fast_graph, instant_run
from llmops.runs.execution.worker import wait_finished
from llmops.runs.graphs import compiled_graph
from llmops.runs.models import FINAL_STATUSES, Run, Trigger
from llmops.runs.models import RunStatus as TargetStatus
from llmops.runs.ports import build_sandbox
from llmops.runs.services import run_claim, run_inputs_validate
from llmops.usage.models import UsageRecord, UsageSource
from workflows import CallContext, WorkflowError, WorkflowValidationError

logger = logging.getLogger(__name__)


def usage_run_id(run: EvaluationRun) -> str:
    """The ``run_id`` the evaluators' own model calls are metered under."""
    return f"evaluation-{run.pk}"


# --- claiming ---------------------------------------------------------------------------------------------


_CLAIM_SQL = """
UPDATE evaluations_evaluationitem SET status = %(running)s, claim = %(claim)s, claimed_at = now(),
       attempts = attempts + 1
 WHERE id IN (SELECT id FROM evaluations_evaluationitem
               WHERE run_id = %(run)s AND status = %(pending)s
               ORDER BY position, repetition LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING *
"""
CLAIM_BATCH = 8  # items a slot claims in one statement (an unfinished batch of a dead slot is swept back)


def items_claim_next(run_id: int, limit: int = CLAIM_BATCH) -> tuple[list[EvaluationItem], uuid.UUID]:
    """Take up to ``limit`` pending items of the run in one statement (skipping rows another slot is
    taking), in dataset order; an empty list when none is left."""
    claim = uuid.uuid4()
    params = {"running": ItemStatus.RUNNING, "pending": ItemStatus.PENDING, "claim": claim, "run": run_id}
    items = list(EvaluationItem.objects.raw(_CLAIM_SQL, {**params, "limit": limit}))
    return sorted(items, key=lambda i: (i.position, i.repetition)), claim


def _claimed(item: EvaluationItem, claim: uuid.UUID) -> Any:
    return EvaluationItem.objects.filter(pk=item.pk, claim=claim, status=ItemStatus.RUNNING)


# --- the target ---------------------------------------------------------------------------------------------


def _target_instant(
    run: EvaluationRun, item: EvaluationItem, claim: uuid.UUID, inputs: dict[str, Any]
) -> Run:
    """A small graph of fast nodes: executed in memory, stored finished (no model calls: re-running is free)."""
    assert run.workflow is not None and run.workflow_version is not None, "a workflow target"
    target = Run(
        id=uuid.uuid4(), workspace=run.workspace, workflow=run.workflow, workflow_version=run.workflow_version,
        trigger=Trigger.EVALUATION, inputs=inputs, created_by_id=run.created_by_id,
    )  # fmt: skip
    instant_run(run=target, graph=compiled_graph(run.workflow_version))
    return target  # recorded on the item with its result (a crash before that re-runs it: free)


def _target_inline(run: EvaluationRun, item: EvaluationItem, claim: uuid.UUID, inputs: dict[str, Any]) -> Run:
    """Create and claim the target run, record it on the item, then execute it here as a worker would."""
    assert run.workflow is not None and run.workflow_version is not None, "a workflow target"
    run_claim_id = uuid.uuid4()
    with transaction.atomic():
        # Related objects given (not ids): the execution reads them from async code, where a lazy load fails.
        target = Run.objects.create(
            workspace=run.workspace, workflow=run.workflow, workflow_version=run.workflow_version,
            trigger=Trigger.EVALUATION, inputs=inputs, created_by_id=run.created_by_id,
        )  # fmt: skip
        assert run_claim(run_id=str(target.id), claim=run_claim_id), "a run created here is visible to no one"
        if not _claimed(item, claim).update(target_run=target):
            transaction.set_rollback(True)  # the item was taken over meanwhile: leave it to its new owner
            raise _Lost()
    target.status, target.claim = TargetStatus.RUNNING, run_claim_id
    async_to_sync(run_inline)(target, run_claim_id, chat=None)
    target.refresh_from_db()
    return target


class _Lost(Exception):
    """This slot no longer holds the item's claim."""


def _target(run: EvaluationRun, item: EvaluationItem, claim: uuid.UUID) -> Run:
    """The item's finished target run: the one an earlier claimant started, or a new one."""
    if item.target_run_id is not None:
        target = Run.objects.get(pk=item.target_run_id)
        if target.status not in FINAL_STATUSES:
            # Started by a claimant that died: the runs sweeper resumes it from its checkpoints on a worker.
            async_to_sync(wait_finished)(str(target.id), float(settings.LLMOPS_EVAL_TARGET_TIMEOUT_SECONDS))
            target.refresh_from_db()
            if target.status not in FINAL_STATUSES:
                raise _Lost()  # still going: the item stays claimed and the sweep hands it back later
        return target
    assert run.workflow_version is not None, "a workflow target"
    inputs = run_inputs_validate(run.workflow_version, item.inputs)
    if fast_graph(run.workflow_version):
        try:
            return _target_instant(run, item, claim, inputs)
        except WorkflowValidationError:
            pass  # the regular path fails the run with the reason
    return _target_inline(run, item, claim, inputs)


# --- scoring ----------------------------------------------------------------------------------------------


def _output(target: Run) -> Any:
    outputs = target.outputs or {}
    return next(iter(outputs.values())) if isinstance(outputs, dict) and len(outputs) == 1 else outputs


def _call(run: EvaluationRun, item: EvaluationItem, claim: uuid.UUID) -> CallOutcome:
    """A prompt or chain target: its call id recorded on the item first, then the call."""
    trace_id = item.trace_id
    if not trace_id:
        trace_id = new_trace_id()
        if not _claimed(item, claim).update(trace_id=trace_id):
            raise _Lost()
    started = time.perf_counter()
    try:
        if run.target_kind == TargetKind.PROMPT:
            return async_to_sync(prompt_call)(run, item, trace_id)
        return async_to_sync(chain_call)(run, item, claim, trace_id)
    except (LLMOpsError, WorkflowError) as exc:  # the model failed or refused the inputs: the item fails
        message = exc.message if isinstance(exc, LLMOpsError) else str(exc)
        elapsed = (time.perf_counter() - started) * 1000
        return CallOutcome(None, message or type(exc).__name__, elapsed, 0, 0, Decimal(0))


def _run_outcome(target: Run) -> CallOutcome:
    error = ""
    if target.status != TargetStatus.SUCCEEDED:
        error = str((target.error or {}).get("message") or f"the target run ended {target.status}")
    output = _output(target) if not error else (target.outputs or None)
    return CallOutcome(
        output, error, target.elapsed_ms, target.prompt_tokens, target.completion_tokens, target.cost
    )


async def _scores(
    run: EvaluationRun, item: EvaluationItem, case: EvalCase
) -> list[tuple[dict[str, Any], Score]]:
    from llmops.providers.gateway import PlatformModelGateway

    gateway = PlatformModelGateway(
        workspace=run.workspace_id, source=UsageSource.EVALUATION, run_id=usage_run_id(run)
    )
    needs_sandbox = any(spec["kind"] == "code" for spec in run.evaluators)
    sandbox = build_sandbox() if needs_sandbox else None

    async def one(spec: dict[str, Any]) -> tuple[dict[str, Any], Score]:
        context = CallContext(
            run_id=usage_run_id(run), node_id=f"{item.item_id}#{item.repetition}:{spec['name']}"
        )
        score = await evaluate(
            spec["kind"], spec["config"], case, gateway=gateway, context=context, sandbox=sandbox,
            workspace_id=run.workspace_id,
        )  # fmt: skip
        return spec, score

    return list(await asyncio.gather(*(one(spec) for spec in run.evaluators)))


def _case(item: EvaluationItem, outcome: CallOutcome) -> EvalCase:
    return EvalCase(
        inputs=item.inputs, output=outcome.output, expected=item.expected, latency_ms=outcome.latency_ms,
        cost=outcome.cost, prompt_tokens=outcome.prompt_tokens, completion_tokens=outcome.completion_tokens,
    )  # fmt: skip


def item_execute(run: EvaluationRun, item: EvaluationItem, claim: uuid.UUID) -> bool:
    """Run the target for one claimed item and score it; False when the claim was lost meanwhile."""
    now = timezone.now()
    figures: dict[str, Any] = {}
    try:
        if run.target_kind == TargetKind.WORKFLOW:
            target = _target(run, item, claim)
            outcome, figures["target_run"] = _run_outcome(target), target
            knowledge_versions_record(EvaluationRun, run.pk, target.knowledge_versions)
        else:
            outcome = _call(run, item, claim)
    except _Lost:
        return False
    except LLMOpsError as exc:  # inputs the target refuses: the item fails with the reason
        return bool(
            _claimed(item, claim).update(status=ItemStatus.ERROR, error=exc.message[:2000], scored_at=now)
        )
    figures.update(
        latency_ms=outcome.latency_ms, prompt_tokens=outcome.prompt_tokens,
        completion_tokens=outcome.completion_tokens, cost=outcome.cost,
    )  # fmt: skip
    if outcome.error:
        return bool(
            _claimed(item, claim).update(
                status=ItemStatus.ERROR,
                error=outcome.error[:2000],
                output=outcome.output,
                passed=False,
                score=0.0,
                scored_at=timezone.now(),
                **figures,
            )
        )
    case = _case(item, outcome)
    if all(spec["kind"] in SCORERS for spec in run.evaluators):  # pure functions: no event loop needed
        scored = [(spec, SCORERS[spec["kind"]](spec["config"], case)) for spec in run.evaluators]
    else:
        scored = async_to_sync(_scores)(run, item, case)
    overall = combine([(score, float(spec.get("weight", 1.0))) for spec, score in scored], run.pass_threshold)
    scores = [{"evaluator": spec["name"], "kind": spec["kind"], **score.as_dict()} for spec, score in scored]
    return bool(
        _claimed(item, claim).update(
            status=ItemStatus.SCORED,
            output=outcome.output,
            scores=scores,
            score=overall.score,
            passed=overall.passed,
            error="",
            scored_at=timezone.now(),
            **figures,
        )
    )


# --- the run ----------------------------------------------------------------------------------------------


def run_cost(run: EvaluationRun) -> Decimal:
    """The run's model cost so far: its targets' runs and its evaluators' own calls."""
    targets = EvaluationItem.objects.filter(run=run).aggregate(total=Sum("cost"))["total"] or Decimal(0)
    judges = UsageRecord.objects.filter(workspace_id=run.workspace_id, run_id=usage_run_id(run)).aggregate(
        total=Sum("cost")
    )["total"] or Decimal(0)
    return Decimal(targets) + Decimal(judges)


def _skip_rest(run: EvaluationRun, status: str, reason: str) -> None:
    with transaction.atomic():
        EvaluationItem.objects.filter(run=run, status=ItemStatus.PENDING).update(
            status=ItemStatus.SKIPPED, error=reason
        )
        EvaluationRun.objects.filter(pk=run.pk).exclude(status__in=FINAL_RUN_STATUSES).update(
            status=status, error=reason, finished_at=timezone.now()
        )


def _stop_reason(run: EvaluationRun) -> tuple[str, str] | None:
    fresh = EvaluationRun.objects.filter(pk=run.pk).values("cancel_requested", "cost_cap").first()
    if fresh is None or fresh["cancel_requested"]:
        return RunStatus.CANCELLED, "the run was cancelled"
    if fresh["cost_cap"] is not None and run_cost(run) >= fresh["cost_cap"]:
        return RunStatus.STOPPED, f"the cost cap of {fresh['cost_cap']} was reached"
    return None


def progress(run: EvaluationRun) -> dict[str, Any]:
    """done/total, passed, failed, errors, pass rate so far and cost so far."""
    counts = EvaluationItem.objects.filter(run=run).aggregate(
        done=Count("pk", filter=Q(status__in=[ItemStatus.SCORED, ItemStatus.ERROR, ItemStatus.SKIPPED])),
        scored=Count("pk", filter=Q(status=ItemStatus.SCORED)),
        passed=Count("pk", filter=Q(passed=True)),
        errors=Count("pk", filter=Q(status=ItemStatus.ERROR)),
    )
    judged = counts["scored"] + counts["errors"]
    return {
        "run": run.pk, "status": run.status, "done": counts["done"], "total": run.total,
        "passed": counts["passed"], "errors": counts["errors"],
        "pass_rate": round(counts["passed"] / judged, 4) if judged else None, "cost": str(run_cost(run)),
    }  # fmt: skip


def _publish(run: EvaluationRun) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    event = {"type": "evaluation.progress", **progress(run)}
    try:
        async_to_sync(layer.group_send)(
            workspace_group(run.workspace_id), {"type": "event.message", "event": event}
        )
    except Exception:  # live progress is best effort; the rows are the record
        logger.warning("evaluation progress event not delivered", exc_info=True)


def _finish_if_done(run: EvaluationRun) -> None:
    open_items = EvaluationItem.objects.filter(run=run, status__in=[ItemStatus.PENDING, ItemStatus.RUNNING])
    if open_items.exists():
        return
    EvaluationRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
        status=RunStatus.COMPLETED, finished_at=timezone.now()
    )


PROGRESS_EVERY_S = 1.0  # a slot publishes progress at most this often (each costs a few aggregates)


def slot_run(run_id: int) -> int:
    """One slot of a run: take items until none is left (or the run is cancelled or over its cost cap);
    returns how many items it scored."""
    run = EvaluationRun.objects.select_related(
        "workspace", "workflow", "workflow_version", "prompt", "prompt_version", "chain", "chain_version"
    ).get(pk=run_id)
    done, published = 0, time.monotonic()
    # Batches only where items are quick (an instant target, pure evaluators): a slow item holds one slot.
    quick = run.target_kind == TargetKind.WORKFLOW and fast_graph(run.workflow_version)
    batch = CLAIM_BATCH if quick and not run.evaluators_need_models else 1
    while run.status == RunStatus.RUNNING:
        stop = _stop_reason(run)  # once per batch: a cancel or the cost cap stops at most a batch later
        if stop is not None:
            _skip_rest(run, *stop)
            break
        items, claim = items_claim_next(run_id, batch)
        if not items:
            break
        for item in items:
            done += item_execute(run, item, claim)
        if time.monotonic() - published >= PROGRESS_EVERY_S:
            _publish(run)
            published = time.monotonic()
    run.refresh_from_db()
    if run.status == RunStatus.RUNNING:
        _finish_if_done(run)
    run.refresh_from_db()
    _publish(run)
    return done


def items_sweep() -> int:
    """Hand items whose slot died back to the queue and start a slot for their runs; also start runs whose
    start message was lost and runs left with pending items but no live slot. Returns how many runs it
    (re)started slots for."""
    stale = timezone.now() - timedelta(seconds=settings.LLMOPS_EVAL_ITEM_STALE_SECONDS)
    runs: set[int] = set()
    for item in EvaluationItem.objects.filter(status=ItemStatus.RUNNING, claimed_at__lt=stale).only(
        "pk", "run_id"
    ):
        if EvaluationItem.objects.filter(pk=item.pk, status=ItemStatus.RUNNING, claimed_at__lt=stale).update(
            status=ItemStatus.PENDING, claim=None
        ):
            runs.add(item.run_id)
    idle = (
        EvaluationRun.objects.filter(
            status=RunStatus.RUNNING, started_at__lt=stale, items__status=ItemStatus.PENDING
        )
        .exclude(items__status=ItemStatus.RUNNING)
        .exclude(items__claimed_at__gte=stale)
        .values_list("pk", flat=True)
        .distinct()
    )
    runs.update(idle)
    from llmops.evaluations.tasks import evaluation_run_begin, evaluation_slot

    for run_id in runs:
        evaluation_slot.delay(run_id)
    for run_id in EvaluationRun.objects.filter(status=RunStatus.QUEUED, created_at__lt=stale).values_list(
        "pk", flat=True
    ):
        evaluation_run_begin.delay(run_id)
    return len(runs)


def run_begin(run_id: int) -> None:
    """Mark the run running and start its slots (idempotent: a second delivery starts nothing new)."""
    started = EvaluationRun.objects.filter(pk=run_id, status=RunStatus.QUEUED, cancel_requested=False).update(
        status=RunStatus.RUNNING, started_at=timezone.now()
    )
    if not started:
        return
    run = EvaluationRun.objects.get(pk=run_id)
    from llmops.evaluations.tasks import evaluation_slot

    for _ in range(max(1, min(run.max_concurrency, run.total))):
        evaluation_slot.delay(run_id)
