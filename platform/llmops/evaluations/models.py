"""Evaluations: datasets (a versioned resource), named evaluators, evaluation runs and their items.

A dataset's content (draft and versions) is ``{"items": [{"id", "inputs", "expected", "metadata", "tags",
"source_run_id"}]}`` (see ``llmops.evaluations.datasets``). An evaluation run pins one dataset version and one
target version, and holds one :class:`EvaluationItem` per (dataset item, repetition): the output, every
evaluator's score and reason, latency, tokens, cost, the target's run (its trace), and the human review.

Items are claimed like runs (compare-and-set on ``claim``, ``attempts``): a worker killed mid-item leaves it
``running`` with a stale ``claimed_at``; the sweep hands it to another worker, which finds the target run the
first one started (``target_run``) and scores that instead of running the target again.
"""

from __future__ import annotations

from decimal import Decimal

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


class EvaluationRun(models.Model):
    """A dataset version run through a target version and scored by evaluators, on the ``evals`` queue."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200, blank=True)
    dataset = models.ForeignKey(Dataset, on_delete=models.RESTRICT, related_name="evaluation_runs")
    dataset_version = models.ForeignKey(DatasetVersion, on_delete=models.RESTRICT, related_name="+")
    workflow = models.ForeignKey("studio.Workflow", on_delete=models.RESTRICT, related_name="evaluation_runs")
    workflow_version = models.ForeignKey(
        "studio.WorkflowVersion", on_delete=models.RESTRICT, related_name="+"
    )
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
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="evalrun_ws_created")]

    def __str__(self) -> str:
        return self.name or f"evaluation {self.pk}"

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
    """Moving ``label`` onto a workflow version (of one workflow, or any in the workspace) needs an approved
    evaluation run of exactly that version meeting ``min_pass_rate`` (and ``min_score``, when set)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    workflow = models.ForeignKey(
        "studio.Workflow", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        help_text="Empty: every workflow of the workspace.",
    )  # fmt: skip
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


class GateDecision(models.Model):
    """The audit trail of the gate: every label move it allowed or refused, and why."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    workflow = models.ForeignKey("studio.Workflow", on_delete=models.CASCADE, related_name="+")
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
