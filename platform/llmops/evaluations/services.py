"""Writes of evaluations: datasets (draft, import, add from runs), evaluators, evaluation runs (create,
cancel), the review (lock, verdict, decision) and the promotion gate.

A dataset is a versioned resource (``llmops.core.versioning`` publishes, labels, restores and diffs it); an
empty dataset may be published, but an evaluation run of 0 items is refused.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from llmops.accounts.models import User, Workspace
from llmops.chains.models import Chain
from llmops.core import versioning
from llmops.core.enqueue import enqueue_on_commit
from llmops.core.errors import Conflict, NotFound, ValidationError
from llmops.deployments.models import Deployment
from llmops.evaluations import datasets
from llmops.evaluations.evaluators import validate_config
from llmops.evaluations.models import (
    FINAL_RUN_STATUSES,
    TARGET_FIELDS,
    Dataset,
    DatasetVersion,
    Decision,
    EvaluationItem,
    EvaluationRun,
    Evaluator,
    GateDecision,
    ItemStatus,
    LabelGate,
    RunStatus,
    TargetKind,
    Verdict,
)
from llmops.evaluations.targets import Target, target_resolve, version_or_400
from llmops.prompts.models import Prompt
from llmops.runs.models import Run
from llmops.studio.models import Workflow

MAX_EVALUATORS = 20
MAX_REPETITIONS = 20
MAX_CONCURRENCY = 64


# --- datasets ---------------------------------------------------------------------------------------------


def dataset_draft_validate(*, draft: Any) -> dict[str, Any]:
    """A dataset draft, normalised; ``ValidationError`` naming the first bad item."""
    return datasets.content_validate(draft if draft else {"items": []})


@transaction.atomic
def dataset_import(*, dataset: Dataset, content: bytes, fmt: str, mode: str = "append") -> Dataset:
    """Add (or replace) the draft's items from a CSV or JSONL file; all or nothing."""
    items = datasets.parse_import(content, fmt)
    locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
    current = datasets.content_validate(locked.draft or {"items": []})["items"]
    locked.draft = datasets.merged(current, items, mode)
    locked.save(update_fields=["draft", "updated_at"])
    return locked


@transaction.atomic
def dataset_add_runs(*, dataset: Dataset, run_ids: list[str], with_expected: bool = True) -> Dataset:
    """Append one item per stored run (its inputs; its outputs as ``expected`` unless told otherwise),
    linked to the run; runs of another workspace are not found."""
    if not run_ids:
        raise ValidationError("Name at least one run.", fields={"runs": ["At least one run id."]})
    wanted = _uuids(run_ids)  # canonical (lowercase, hyphenated), as str(run.id) is
    found = Run.objects.filter(workspace_id=dataset.workspace_id, id__in=wanted).select_related("workflow")
    runs = {str(run.id): run for run in found}
    missing = [given for given, run_id in zip(run_ids, wanted, strict=True) if run_id not in runs]
    if missing:
        raise NotFound(f"No run {missing[0]!r} in this workspace.")
    new = [
        datasets.item_validate(
            {
                "inputs": runs[run_id].inputs,
                "metadata": {"workflow": runs[run_id].workflow.slug},  # text: survives a CSV round trip
                "expected": (runs[run_id].outputs or None) if with_expected else None,
                "tags": ["from-run"],
                "source_run_id": run_id,
            },
            where=f"run {run_id}",
            field="runs",
        )
        for run_id in wanted
    ]
    locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
    current = datasets.content_validate(locked.draft or {"items": []})["items"]
    locked.draft = datasets.merged(current, new, "append", field="runs")
    locked.save(update_fields=["draft", "updated_at"])
    return locked


def _uuids(values: list[str]) -> list[str]:
    import uuid

    valid = []
    for value in values:
        try:
            valid.append(str(uuid.UUID(str(value))))
        except ValueError:
            raise NotFound(f"No run {value!r} in this workspace.") from None
    return valid


# --- evaluators -------------------------------------------------------------------------------------------


def evaluator_save(
    *, workspace: Workspace, name: str, kind: str, config: Any, description: str = "", user: User | None = None,
    evaluator: Evaluator | None = None,
) -> Evaluator:  # fmt: skip
    """Create (or update) a named evaluator after checking its config."""
    normalised = validate_config(kind, config)
    taken = Conflict(f"An evaluator named {name!r} exists.", fields={"name": ["Already taken."]})
    if evaluator is None:
        if Evaluator.objects.filter(workspace=workspace, name=name).exists():
            raise taken
        return versioning.unique_write(
            lambda: Evaluator.objects.create(
                workspace=workspace, name=name, kind=kind, config=normalised, description=description,
                created_by=user,
            ),
            taken,
        )  # fmt: skip
    evaluator.name, evaluator.kind, evaluator.config, evaluator.description = (
        name,
        kind,
        normalised,
        description,
    )
    versioning.unique_write(lambda: evaluator.save(), taken)
    return evaluator


# --- evaluation runs --------------------------------------------------------------------------------------


def _evaluators(workspace: Workspace, specs: Any) -> list[dict[str, Any]]:
    """Each spec is ``{"name": <saved evaluator>}`` or ``{"name", "kind", "config"}``, with ``weight``."""
    if not isinstance(specs, list) or not specs:
        raise ValidationError("Choose at least one evaluator.", fields={"evaluators": ["At least one."]})
    if len(specs) > MAX_EVALUATORS:
        raise ValidationError("Too many evaluators.", fields={"evaluators": [f"At most {MAX_EVALUATORS}."]})
    resolved: list[dict[str, Any]] = []
    for index, spec in enumerate(specs):
        field = f"evaluators.{index}"
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"]:
            raise ValidationError("Each evaluator needs a name.", fields={f"{field}.name": ["Required."]})
        weight = spec.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 100:
            raise ValidationError(
                "Invalid weight.", fields={f"{field}.weight": ["A number between 0 and 100."]}
            )
        if "kind" in spec:
            config = validate_config(spec["kind"], spec.get("config", {}), field=f"{field}.config")
            kind = spec["kind"]
        else:
            saved = Evaluator.objects.filter(workspace=workspace, name=spec["name"]).first()
            if saved is None:
                raise ValidationError(
                    f"No evaluator named {spec['name']!r}.", fields={f"{field}.name": ["No such evaluator."]}
                )
            kind, config = saved.kind, saved.config
        resolved.append({"name": spec["name"], "kind": kind, "config": config, "weight": float(weight)})
    names = [spec["name"] for spec in resolved]
    if len(set(names)) != len(names):
        raise ValidationError("Evaluator names repeat.", fields={"evaluators": ["Each name once."]})
    return resolved


def _bounded(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"Invalid {field}.", fields={field: [f"An integer between {low} and {high}."]})
    return value


def _cost_cap(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        cap = Decimal(str(value))
    except (InvalidOperation, ValueError):
        cap = Decimal(-1)
    if not cap.is_finite() or cap <= 0:
        raise ValidationError(
            "Invalid cost cap.", fields={"cost_cap": ["A positive amount, or empty for none."]}
        )
    return cap


def estimated_cost(*, target: Target, items: int) -> Decimal | None:
    """The target's model cost for ``items`` items (None without history): a workflow's from its recent runs'
    mean cost; a prompt's or chain's from the mean item cost of earlier evaluations of the same version."""
    from django.db.models import Avg

    if target.kind == TargetKind.WORKFLOW:
        recent = Run.objects.filter(workflow_id=target.resource.pk, status="succeeded").order_by(
            "-created_at"
        )[:50]
        mean = Run.objects.filter(pk__in=recent.values("pk")).aggregate(mean=Avg("cost"))["mean"]
    else:
        _, version_field = TARGET_FIELDS[target.kind]
        earlier = EvaluationItem.objects.filter(
            **{f"run__{version_field}": target.version}, status=ItemStatus.SCORED
        ).order_by("-scored_at")[:50]
        mean = EvaluationItem.objects.filter(pk__in=earlier.values("pk")).aggregate(mean=Avg("cost"))["mean"]
    return None if mean is None else (Decimal(mean) * items).quantize(Decimal("0.000001"))


@transaction.atomic
def evaluation_run_create(
    *,
    workspace: Workspace,
    user: User | None,
    dataset: Dataset,
    dataset_ref: Any = "latest",
    workflow: Workflow | None = None,
    workflow_ref: Any = "latest",
    prompt: Prompt | None = None,
    chain: Chain | None = None,
    deployment: Deployment | None = None,
    version: Any = None,
    evaluators: Any,
    name: str = "",
    pass_threshold: Any = 0.5,
    repetitions: Any = 1,
    max_concurrency: Any = 4,
    cost_cap: Any = None,
    dry_run: bool = False,
) -> EvaluationRun:
    """Check everything, create the run and its items, and queue it on the ``evals`` workers (``dry_run``:
    check everything and answer the unsaved run with its item count and cost estimate).

    The target is exactly one of ``workflow``, ``prompt``, ``chain`` (at ``version``: a number, ``latest`` or a
    label; ``workflow_ref`` is the older name for a workflow's) or ``deployment`` (its target at its version).
    Nothing is created when anything is wrong (a dataset of 0 items, an unknown version, a bad evaluator).
    """
    dataset_version: DatasetVersion = version_or_400(dataset, dataset_ref, "dataset_version")
    ref_field = "version" if version is not None or workflow is None else "workflow_version"
    target = target_resolve(
        workflow=workflow, prompt=prompt, chain=chain, deployment=deployment,
        ref=version if version is not None else workflow_ref, ref_field=ref_field,
    )  # fmt: skip
    specs = _evaluators(workspace, evaluators)
    reps = _bounded(repetitions, "repetitions", 1, MAX_REPETITIONS)
    concurrency = _bounded(max_concurrency, "max_concurrency", 1, MAX_CONCURRENCY)
    if (
        isinstance(pass_threshold, bool)
        or not isinstance(pass_threshold, int | float)
        or not 0 <= pass_threshold <= 1
    ):
        raise ValidationError(
            "Invalid pass threshold.", fields={"pass_threshold": ["A number between 0 and 1."]}
        )
    cap = _cost_cap(cost_cap)
    items = dataset_version.content.get("items", [])
    if not items:
        raise ValidationError(
            f"Dataset {dataset.slug!r} v{dataset_version.number} has no items.",
            fields={"dataset_version": ["The dataset version has no items."]},
        )
    total = len(items) * reps
    if total > settings.LLMOPS_EVAL_MAX_RUN_ITEMS:
        raise ValidationError(
            "Too many items for one run.",
            fields={"repetitions": [f"At most {settings.LLMOPS_EVAL_MAX_RUN_ITEMS} items x repetitions."]},
        )
    if dry_run:  # the launch form's estimate: everything checked, nothing created
        return EvaluationRun(
            workspace=workspace, name=name[:200], dataset=dataset, dataset_version=dataset_version, total=total,
            estimated_cost=estimated_cost(target=target, items=total), **target.fields(),
        )  # fmt: skip
    run = EvaluationRun.objects.create(
        workspace=workspace, name=name[:200], dataset=dataset, dataset_version=dataset_version, **target.fields(),
        evaluators=specs, pass_threshold=float(pass_threshold), repetitions=reps, max_concurrency=concurrency,
        cost_cap=cap, total=total, created_by=user, estimated_cost=estimated_cost(target=target, items=total),
    )  # fmt: skip
    EvaluationItem.objects.bulk_create(
        [
            EvaluationItem(
                run=run,
                item_id=item["id"],
                repetition=rep,
                position=position,
                inputs=item["inputs"],
                expected=item.get("expected"),
            )
            for position, item in enumerate(items)
            for rep in range(reps)
        ],
        batch_size=2000,
    )
    from llmops.evaluations.tasks import evaluation_run_begin

    enqueue_on_commit(evaluation_run_begin, run.pk, robust=True)
    return run


@transaction.atomic
def evaluation_run_cancel(*, run: EvaluationRun) -> EvaluationRun:
    """Stop a run: pending items are skipped; items being scored finish; a queued run ends at once."""
    if run.status in FINAL_RUN_STATUSES:
        raise Conflict(f"The evaluation run already ended ({run.status}).")
    EvaluationRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    if EvaluationRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
        status=RunStatus.CANCELLED, finished_at=timezone.now(), error="the run was cancelled"
    ):
        EvaluationItem.objects.filter(run=run, status=ItemStatus.PENDING).update(status=ItemStatus.SKIPPED)
    run.refresh_from_db()
    return run


# --- review -----------------------------------------------------------------------------------------------


def _lock_holder(item: EvaluationItem, user: User) -> None:
    if item.locked_by_id not in (None, user.pk) and item.locked_until and item.locked_until > timezone.now():
        raise Conflict(f"{item.locked_by} is reviewing this item (until {item.locked_until:%H:%M}).")


@transaction.atomic
def item_lock(*, item: EvaluationItem, user: User) -> EvaluationItem:
    """Take (or renew) the review lock on an item, unless another reviewer holds it."""
    locked = EvaluationItem.objects.select_for_update().get(pk=item.pk)
    _lock_holder(locked, user)
    locked.locked_by = user
    locked.locked_until = timezone.now() + timedelta(seconds=settings.LLMOPS_EVAL_REVIEW_LOCK_SECONDS)
    locked.save(update_fields=["locked_by", "locked_until"])
    return locked


@transaction.atomic
def item_review(
    *, item: EvaluationItem, user: User, verdict: str, human_score: Any = None, comment: str = "",
    corrected_output: str = "",
) -> EvaluationItem:  # fmt: skip
    """Record a reviewer's verdict (pass/fail), optional score, comment and corrected output; releases the
    lock. Refused while another reviewer holds the item."""
    if verdict not in Verdict.values:
        raise ValidationError("Invalid verdict.", fields={"verdict": ["One of pass, fail."]})
    if human_score is not None and (
        isinstance(human_score, bool) or not isinstance(human_score, int | float) or not 0 <= human_score <= 1
    ):
        raise ValidationError("Invalid score.", fields={"human_score": ["A number between 0 and 1."]})
    locked = EvaluationItem.objects.select_for_update().get(pk=item.pk)
    if locked.status not in (ItemStatus.SCORED, ItemStatus.ERROR):
        raise Conflict("Only scored items can be reviewed.")
    _lock_holder(locked, user)
    locked.verdict, locked.human_score, locked.comment = verdict, human_score, comment[:5000]
    locked.corrected_output = corrected_output[:20000]
    locked.reviewed_by, locked.reviewed_at = user, timezone.now()
    locked.locked_by, locked.locked_until = None, None
    locked.save()
    return locked


def item_assign(*, items: Any, reviewer: User | None) -> int:
    """Assign items to a reviewer (None: unassign); returns how many."""
    return int(items.update(assigned_to=reviewer))


@transaction.atomic
def evaluation_run_decide(
    *, run: EvaluationRun, user: User, decision: str, comment: str = ""
) -> EvaluationRun:
    """Approve or reject a finished run (who and when are recorded)."""
    if decision not in (Decision.APPROVED, Decision.REJECTED):
        raise ValidationError("Invalid decision.", fields={"decision": ["One of approved, rejected."]})
    locked = EvaluationRun.objects.select_for_update().get(pk=run.pk)
    if locked.status != RunStatus.COMPLETED:
        raise Conflict(f"Only a completed run can be decided (this one is {locked.status}).")
    locked.decision, locked.decided_by, locked.decided_at = decision, user, timezone.now()
    locked.decision_comment = comment[:5000]
    locked.save(update_fields=["decision", "decided_by", "decided_at", "decision_comment"])
    return locked


# --- the promotion gate -----------------------------------------------------------------------------------


GATED_KINDS: dict[type, TargetKind] = {
    Workflow: TargetKind.WORKFLOW,
    Prompt: TargetKind.PROMPT,
    Chain: TargetKind.CHAIN,
}


def gate_check(*, resource: Workflow | Prompt | Chain, version: Any, label: str, user: Any) -> None:
    """Refuse (409, with the reason) moving ``label`` onto ``version`` of a workflow, prompt or chain unless an
    approved evaluation run of exactly that version meets the gate's thresholds; every decision is recorded."""
    kind = GATED_KINDS[type(resource)]
    resource_field, version_field = TARGET_FIELDS[kind]
    pinned: dict[str, Any] = {resource_field: resource, version_field: version}
    gates = LabelGate.objects.filter(workspace_id=resource.workspace_id, label=label, kind=kind)
    own = gates.filter(
        **{resource_field: resource}
    ).first()  # a resource's own gate wins over the workspace's
    gate = own or gates.filter(workflow__isnull=True, prompt__isnull=True, chain__isnull=True).first()
    if gate is None:
        return
    from llmops.evaluations.selectors import run_summary

    approved = EvaluationRun.objects.filter(
        **pinned, decision=Decision.APPROVED,
        status=RunStatus.COMPLETED,
    ).order_by("-decided_at")  # fmt: skip
    chosen, reason = None, ""
    for run in approved:
        summary = run_summary(run)
        rate, mean = summary["pass_rate"] or 0.0, summary["mean_score"] or 0.0
        if rate >= gate.min_pass_rate and (gate.min_score is None or mean >= gate.min_score):
            chosen, reason = (
                run,
                f"evaluation run {run.pk} approved: pass rate {rate:.3f}, mean score {mean:.3f}",
            )
            break
    if chosen is None:
        reason = (
            f"Moving {label!r} to v{version.number} needs an approved evaluation run of v{version.number} with a "
            f"pass rate of at least {gate.min_pass_rate:g}"
            + (f" and a mean score of at least {gate.min_score:g}" if gate.min_score is not None else "")
            + (" (the approved runs fall short)." if approved.exists() else " (none is approved).")
        )
    GateDecision.objects.create(
        workspace_id=resource.workspace_id, kind=kind, **{f"{resource_field}_id": resource.pk},
        version_number=version.number,
        label=label, allowed=chosen is not None, reason=reason, evaluation_run=chosen,
        user=user if getattr(user, "pk", None) else None,
    )  # fmt: skip
    if chosen is None:
        raise Conflict(reason, fields={"name": [reason]})


def gate_save(
    *,
    workspace: Workspace,
    resource: Workflow | Prompt | Chain | None = None,
    kind: str = TargetKind.WORKFLOW,
    label: str = "production",
    min_pass_rate: float = 0.0,
    min_score: float | None = None,
) -> LabelGate:
    """Create a promotion gate: on one workflow, prompt or chain (``resource``), or on every resource of
    ``kind`` in the workspace; one per resource (or workspace and kind) and label."""
    if not 0 <= min_pass_rate <= 1 or (min_score is not None and not 0 <= min_score <= 1):
        raise ValidationError(
            "Thresholds are between 0 and 1.", fields={"min_pass_rate": ["Between 0 and 1."]}
        )
    if resource is not None:
        kind = GATED_KINDS[type(resource)]
    elif kind not in TargetKind.values:
        raise ValidationError("Unknown kind.", fields={"kind": [f"One of {', '.join(TargetKind.values)}."]})
    resource_field = TARGET_FIELDS[TargetKind(kind)][0]
    taken = Conflict(f"A gate on {label!r} exists.", fields={"label": ["Already gated."]})
    scope = {"workflow": None, "prompt": None, "chain": None, resource_field: resource}
    if LabelGate.objects.filter(workspace=workspace, kind=kind, label=label, **scope).exists():
        raise taken
    return versioning.unique_write(
        lambda: LabelGate.objects.create(
            workspace=workspace,
            kind=kind,
            **scope,
            label=label,
            min_pass_rate=min_pass_rate,
            min_score=min_score,
        ),
        taken,
    )
