"""Evaluations: datasets (a versioned resource), named evaluators, evaluation runs and their items.

A dataset's content (draft and versions) is ``{"items": [{"id", "inputs", "expected", "metadata", "tags",
"source_run_id"}]}`` (see ``llmops.evaluations.datasets``). An evaluation run pins one dataset version and one
target version (a workflow, prompt or chain version; a deployment's target resolved when the run is created),
and holds one :class:`EvaluationItem` per (dataset item, repetition): the output, every
evaluator's score and reason, latency, tokens, cost, the target's run (its trace), and the human review.

Items are claimed like runs (compare-and-set on ``claim``, ``attempts``): a worker killed mid-item leaves it
``running`` with a stale ``claimed_at``; the sweep hands it to another worker, which finds the target run the
first one started (``target_run``) and scores that instead of running the target again. A prompt or chain
target is one model call with nothing to resume: its call id (``trace_id``, the ``run_id`` its usage is metered
under) is recorded before the call, and a later claimant makes the call again under the same id.
"""

from __future__ import annotations

import functools
import operator
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models

from llmops.core.models import ResourceLabel, ResourceVersion, VersionedResource


class Dataset(VersionedResource):
    """A dataset's editable head; ``draft`` holds its items."""

    class Meta(VersionedResource.Meta):
        verbose_name = "dataset"


class DatasetVersion(ResourceVersion):
    """An immutable, numbered snapshot of a dataset's items."""

    resource = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="versions")

    class Meta(ResourceVersion.Meta):
        verbose_name = "dataset version"


class DatasetLabel(ResourceLabel):
    """A named pointer at one dataset version."""

    resource = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="labels")
    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="labels")

    class Meta(ResourceLabel.Meta):
        verbose_name = "dataset label"


class Evaluator(models.Model):
    """A named evaluator configuration, reusable by name in a workspace's evaluation runs."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    name = models.SlugField(max_length=100)
    kind = models.CharField(max_length=40)
    config = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="evaluator_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class RunStatus(models.TextChoices):
    """Where an evaluation run is."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    STOPPED = "stopped", "Stopped (cost cap)"
    FAILED = "failed"


FINAL_RUN_STATUSES = (RunStatus.COMPLETED, RunStatus.CANCELLED, RunStatus.STOPPED, RunStatus.FAILED)


class Decision(models.TextChoices):
    """A reviewer's decision on a whole run."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class TargetKind(models.TextChoices):
    """What an evaluation run (or a promotion gate) is about: a workflow, a prompt or a chain."""

    WORKFLOW = "workflow"
    PROMPT = "prompt"
    CHAIN = "chain"


#: The (resource, version) fields of each target kind, on runs (gates and decisions use the resource's).
TARGET_FIELDS = {
    TargetKind.WORKFLOW: ("workflow", "workflow_version"),
    TargetKind.PROMPT: ("prompt", "prompt_version"),
    TargetKind.CHAIN: ("chain", "chain_version"),
}


def _one_target() -> models.Q:
    """Exactly the kind's resource and version are set, and no other kind's."""
    conditions = []
    for kind, (resource, version) in TARGET_FIELDS.items():
        others = {
            f"{field}__isnull": True for k, pair in TARGET_FIELDS.items() if k != kind for field in pair
        }
        conditions.append(
            models.Q(
                target_kind=kind, **{f"{resource}__isnull": False, f"{version}__isnull": False}, **others
            )
        )
    return functools.reduce(operator.or_, conditions)


class EvaluationRun(models.Model):
    """A dataset version run through a target version and scored by evaluators, on the ``evals`` queue.

    The target is a workflow, prompt or chain version (``target_kind`` says which pair of fields is set);
    ``deployment`` names the deployment the target was taken from, when the run was asked for one.
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200, blank=True)
    dataset = models.ForeignKey(Dataset, on_delete=models.RESTRICT, related_name="evaluation_runs")
    dataset_version = models.ForeignKey(DatasetVersion, on_delete=models.RESTRICT, related_name="+")
    target_kind = models.CharField(max_length=16, choices=TargetKind.choices, default=TargetKind.WORKFLOW)
    workflow = models.ForeignKey(
        "studio.Workflow", null=True, blank=True, on_delete=models.RESTRICT, related_name="evaluation_runs"
    )
    workflow_version = models.ForeignKey(
        "studio.WorkflowVersion", null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
    )
    prompt = models.ForeignKey(
        "prompts.Prompt", null=True, blank=True, on_delete=models.RESTRICT, related_name="evaluation_runs"
    )
    prompt_version = models.ForeignKey(
        "prompts.PromptVersion", null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
    )
    chain = models.ForeignKey(
        "chains.Chain", null=True, blank=True, on_delete=models.RESTRICT, related_name="evaluation_runs"
    )
    chain_version = models.ForeignKey(
        "chains.ChainVersion", null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
    )
    deployment = models.ForeignKey(
        "deployments.Deployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The deployment whose target (at its version when the run was created) is evaluated.",
    )  # fmt: skip
    evaluators = models.JSONField(default=list, help_text="[{name, kind, config, weight, threshold}]")
    pass_threshold = models.FloatField(
        default=0.5, help_text="An item passes when its weighted score reaches it."
    )
    repetitions = models.PositiveSmallIntegerField(default=1)
    max_concurrency = models.PositiveSmallIntegerField(default=4)
    cost_cap = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    estimated_cost = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    error = models.TextField(blank=True)
    total = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    decision = models.CharField(max_length=16, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    # The knowledge-base versions its target searched (reference -> resolved, e.g. "faq@production": "faq:3").
    knowledge_versions = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="evalrun_ws_created")]
        constraints = [models.CheckConstraint(condition=_one_target(), name="evalrun_one_target")]

    def __str__(self) -> str:
        return self.name or f"evaluation {self.pk}"

    @property
    def target(self) -> Any:
        """The target resource (a workflow, prompt or chain)."""
        return getattr(self, TARGET_FIELDS[TargetKind(self.target_kind)][0])

    @property
    def target_version(self) -> Any:
        """The target's version under evaluation."""
        return getattr(self, TARGET_FIELDS[TargetKind(self.target_kind)][1])

    @property
    def target_name(self) -> str:
        """``<kind> <slug> v<number>``, e.g. ``prompt greeting v3``."""
        return f"{self.target_kind} {self.target.slug} v{self.target_version.number}"

    @property
    def evaluators_need_models(self) -> bool:
        """Whether an evaluator calls a model, the sandbox or a search (slow, costed: claimed one by one)."""
        from llmops.evaluations.evaluators.deterministic import SCORERS

        return any(spec["kind"] not in SCORERS for spec in self.evaluators)


class ItemStatus(models.TextChoices):
    """Where one item of an evaluation run is."""

    PENDING = "pending"
    RUNNING = "running"
    SCORED = "scored"
    ERROR = "error", "Target failed"
    SKIPPED = "skipped", "Skipped (cancelled or cost cap)"


FINAL_ITEM_STATUSES = (ItemStatus.SCORED, ItemStatus.ERROR, ItemStatus.SKIPPED)


class Verdict(models.TextChoices):
    """A reviewer's verdict on one item."""

    PASS = "pass"
    FAIL = "fail"


class EvaluationItem(models.Model):
    """One dataset item (one repetition) of an evaluation run: output, scores, cost, trace and review."""

    run = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="items")
    item_id = models.CharField(max_length=100)
    repetition = models.PositiveSmallIntegerField(default=0)
    position = models.PositiveIntegerField(default=0)
    inputs = models.JSONField(default=dict)
    expected = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.PENDING)
    claim = models.UUIDField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    target_run = models.ForeignKey(
        "runs.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trace_id = models.CharField(
        max_length=64, blank=True,
        help_text="A prompt or chain target's call id: the run_id its model usage is metered under.",
    )  # fmt: skip
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    scores = models.JSONField(default=list, help_text="[{evaluator, kind, score, passed, reason, error}]")
    score = models.FloatField(null=True, blank=True)
    passed = models.BooleanField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal(0))
    scored_at = models.DateTimeField(null=True, blank=True)
    # The human review.
    verdict = models.CharField(max_length=8, choices=Verdict.choices, blank=True)
    human_score = models.FloatField(null=True, blank=True)
    corrected_output = models.TextField(
        blank=True, help_text="The reviewer's better answer (for fine-tuning)."
    )
    comment = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "position", "repetition"]
        constraints = [
            models.UniqueConstraint(fields=["run", "item_id", "repetition"], name="evalitem_unique_per_run")
        ]
        indexes = [models.Index(fields=["run", "status"], name="evalitem_run_status")]

    def __str__(self) -> str:
        return f"{self.item_id}#{self.repetition}"


class LabelGate(models.Model):
    """Moving ``label`` onto a version of a workflow, prompt or chain (``kind``: one resource, or every one of
    that kind in the workspace) needs an approved evaluation run of exactly that version meeting
    ``min_pass_rate`` (and ``min_score``, when set)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=TargetKind.choices, default=TargetKind.WORKFLOW)
    workflow = models.ForeignKey(
        "studio.Workflow", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        help_text="Empty (and no prompt or chain): every resource of the kind in the workspace.",
    )  # fmt: skip
    prompt = models.ForeignKey(
        "prompts.Prompt", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    chain = models.ForeignKey(
        "chains.Chain", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    label = models.CharField(max_length=63, default="production")
    min_pass_rate = models.FloatField(default=0.0)
    min_score = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "workflow", "label"], name="labelgate_unique"),
        ]

    def __str__(self) -> str:
        return f"gate on {self.label!r}"

    @property
    def resource(self) -> Any:
        """The one gated resource, or None for a workspace-wide gate."""
        return self.workflow or self.prompt or self.chain


class GateDecision(models.Model):
    """The audit trail of the gate: every label move it allowed or refused, and why."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=TargetKind.choices, default=TargetKind.WORKFLOW)
    workflow = models.ForeignKey("studio.Workflow", null=True, on_delete=models.CASCADE, related_name="+")
    prompt = models.ForeignKey("prompts.Prompt", null=True, on_delete=models.CASCADE, related_name="+")
    chain = models.ForeignKey("chains.Chain", null=True, on_delete=models.CASCADE, related_name="+")
    version_number = models.PositiveIntegerField()
    label = models.CharField(max_length=63)
    allowed = models.BooleanField()
    reason = models.TextField()
    evaluation_run = models.ForeignKey(
        EvaluationRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.label} -> v{self.version_number}: {'allowed' if self.allowed else 'refused'}"
