"""Reads on runs, scoped to a workspace; list queries leave large JSON payloads behind."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from llmops.accounts.models import Workspace
from llmops.core.errors import NotFound
from llmops.runs.models import NodeRun, Run, RunEvent

_LIST_DEFERRED = ("inputs", "outputs", "error")


def runs_for_workspace(*, workspace: Workspace, filters: dict[str, Any] | None = None) -> QuerySet[Run]:
    """Runs of a workspace, newest first, filtered by status, workflow slug, trigger, deployment or
    creation time."""
    filters = filters or {}
    runs = Run.objects.filter(workspace=workspace).select_related("workflow", "workflow_version")
    runs = runs.defer(*_LIST_DEFERRED, "workflow__draft", "workflow_version__content")
    if filters.get("status"):
        runs = runs.filter(status=filters["status"])
    if filters.get("workflow"):
        runs = runs.filter(workflow__slug=filters["workflow"])
    if filters.get("trigger"):
        runs = runs.filter(trigger=filters["trigger"])
    if filters.get("created_after"):
        runs = runs.filter(created_at__gte=filters["created_after"])
    if filters.get("created_before"):
        runs = runs.filter(created_at__lt=filters["created_before"])
    if filters.get("deployment"):
        runs = runs.filter(deployment_id=filters["deployment"])
    return runs.order_by("-created_at")


def run_for_workspace(*, workspace: Workspace, run_id: str) -> Run:
    """One run of the workspace with its workflow, or ``NotFound``."""
    run = (
        Run.objects.select_related("workflow", "workflow_version")
        .defer("workflow__draft", "workflow_version__content")
        .filter(workspace=workspace, id=run_id)
        .first()
    )
    if run is None:
        raise NotFound("Run not found.")
    return run


def node_timeline(*, run: Run) -> QuerySet[NodeRun]:
    """The run's finished nodes in checkpoint order (outputs included: this is the detail view)."""
    return NodeRun.objects.filter(run=run).order_by("sequence", "id")


def run_events_after(*, run_id: Any, after: int) -> QuerySet[RunEvent]:
    """Stored events after cursor ``after``, in order."""
    return RunEvent.objects.filter(run_id=run_id, seq__gt=after).order_by("seq")
