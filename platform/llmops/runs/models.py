"""Runs of workflow versions, their checkpointed node runs, and their stored events."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone


class RunStatus(models.TextChoices):
    """A run's lifecycle: queued -> running -> one of the final states."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATUSES = (RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED, RunStatus.CANCELLED)


class Trigger(models.TextChoices):
    """What started a run."""

    CONSOLE = "console"
    API = "api"
    EVALUATION = "evaluation"
    SCHEDULE = "schedule"
    DEBUG = "debug"


class Run(models.Model):
    """One execution of a pinned workflow version.

    ``claim`` identifies the worker execution that owns the run: every write a worker makes is
    conditioned on it, so a worker that lost the run (its heartbeat expired and another took over) cannot
    overwrite the new owner's state. ``heartbeat_at`` is refreshed while it runs.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    workflow = models.ForeignKey("studio.Workflow", on_delete=models.CASCADE, related_name="runs")
    workflow_version = models.ForeignKey(
        "studio.WorkflowVersion", on_delete=models.CASCADE, related_name="runs"
    )
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.CONSOLE)
    status = models.CharField(
        max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True
    )
    inputs = models.JSONField(default=dict)
    outputs = models.JSONField(default=dict)
    error = models.JSONField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set by the deployments app for API calls.
    deployment_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    api_key_id = models.BigIntegerField(null=True, blank=True)
    end_user = models.CharField(max_length=200, blank=True)
    rerun_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # A debug run of one node (the rest of its graph restored from entered values); blank for whole runs.
    debug_node = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When a task for this run was last sent: the sweeper sends at most one more per period.
    enqueued_at = models.DateTimeField(default=timezone.now)
    claim = models.UUIDField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="host:pid of the process executing it")
    attempts = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    steps = models.PositiveIntegerField(default=0)
    elapsed_ms = models.FloatField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal(0))
    # Counted into the dashboards' run rollups yet (llmops.usage.run_rollups takes final runs still false).
    rolled_up = models.BooleanField(default=False)
    # The knowledge-base versions its retrievals searched: reference as written -> what it resolved to
    # (``{"faq@production": "faq:3"}``; ``faq@draft`` for the head).
    knowledge_versions = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="runs_ws_created"),
            models.Index(fields=["status", "heartbeat_at"], name="runs_status_heartbeat"),
            models.Index(
                fields=["created_at"], name="runs_not_rolled_up", condition=models.Q(rolled_up=False)
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.id} ({self.status})"

    @property
    def is_final(self) -> bool:
        """Whether the run has ended."""
        return self.status in FINAL_STATUSES


class NodeRun(models.Model):
    """A finished node of a run, as checkpointed by the engine (the resume point)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="node_runs")
    node_id = models.CharField(max_length=100)
    node_type = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=16)
    # Large payloads: list queries defer these two columns (see selectors).
    outputs = models.JSONField(default=dict)
    error = models.JSONField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=1)
    # NULL (no branch taken) differs from any handle name, so this string column is nullable.
    branch = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    sequence = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["run", "sequence"]
        constraints = [models.UniqueConstraint(fields=["run", "node_id"], name="runs_noderun_unique_node")]

    def __str__(self) -> str:
        return f"{self.node_id} ({self.status})"


class RunEvent(models.Model):
    """An event of a run, numbered from 1, kept so a late or reconnecting subscriber resumes from a cursor."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=32)
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="runs_event_unique_seq")]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.seq} {self.type}"


class Schedule(models.Model):
    """A cron trigger: runs a workflow version or label with fixed inputs (executed by Celery beat).

    The beat entry itself is a django-celery-beat ``PeriodicTask`` owned by this row.
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    workflow = models.ForeignKey("studio.Workflow", on_delete=models.CASCADE, related_name="schedules")
    name = models.CharField(max_length=200)
    version = models.CharField(
        max_length=63, default="production", help_text="A version number, latest or a label"
    )
    cron = models.CharField(
        max_length=100, help_text="Five fields: minute hour day-of-month month day-of-week"
    )
    timezone = models.CharField(max_length=64, default="UTC")
    inputs = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["workflow", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.cron})"


class ConversationState(models.Model):
    """The conversation variables and turn count of one chat conversation with a workflow deployment.

    ``key`` is the client's conversation id scoped to the deployment, API key and end user
    (``llmops.chains.conversation_scope``), so another key or end user never reads it. ``version`` grows with
    every write of the variables: a turn saves its variables only over the version it started from.
    """

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100, unique=True)
    variables = models.JSONField(default=dict, blank=True)
    dialogue_count = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.key
