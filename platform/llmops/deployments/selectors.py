"""Reads of deployments: console listings, the public API's lookups by key, and dashboard counters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from llmops.accounts.models import Workspace
from llmops.core.errors import NotFound, PermissionDenied
from llmops.deployments.models import ApiKey, Deployment
from llmops.runs.models import Run, RunStatus
from llmops.usage.models import UsageRecord


def deployments_for_workspace(*, workspace: Workspace) -> QuerySet[Deployment]:
    """A workspace's deployments with their targets."""
    return (
        Deployment.objects.filter(workspace=workspace)
        .select_related("workflow", "chain")
        .defer("workflow__draft", "chain__draft")
        .order_by("slug")
    )


def deployment_for_workspace(*, workspace: Workspace, slug: str) -> Deployment:
    """One deployment by slug, or ``NotFound``."""
    deployment = deployments_for_workspace(workspace=workspace).filter(slug=slug).first()
    if deployment is None:
        raise NotFound(f"Deployment {slug!r} not found.")
    return deployment


def api_keys_for_workspace(*, workspace: Workspace) -> QuerySet[ApiKey]:
    """A workspace's keys (revoked ones included, newest first) with their deployment restrictions."""
    return ApiKey.objects.filter(workspace=workspace).prefetch_related("deployments").order_by("-created_at")


def api_key_for_workspace(*, workspace: Workspace, key_id: int) -> ApiKey:
    """One key, or ``NotFound``."""
    key = api_keys_for_workspace(workspace=workspace).filter(pk=key_id).first()
    if key is None:
        raise NotFound("API key not found.")
    return key


def _allowed(key: ApiKey, deployments: QuerySet[Deployment]) -> QuerySet[Deployment]:
    return deployments if key.all_deployments else deployments.filter(api_keys=key)


def deployment_for_key(*, key: ApiKey, slug: str) -> Deployment:
    """The deployment ``slug`` of the key's workspace: 404 when unknown, 403 when the key may not call it."""
    try:
        deployment = (
            Deployment.objects.select_related("workflow", "chain")
            # drafts can be large, and the webhook secret would be decrypted on every call for nothing
            .defer("workflow__draft", "chain__draft", "webhook_secret")
            .get(workspace_id=key.workspace_id, slug=slug)
        )
    except Deployment.DoesNotExist:
        raise NotFound(f"No deployment {slug!r}.") from None
    if not key.all_deployments and not key.deployments.filter(pk=deployment.pk).exists():
        raise PermissionDenied(f"This API key may not call deployment {slug!r}.")
    deployment.workspace = key.workspace
    return deployment


def deployments_for_key(*, key: ApiKey) -> QuerySet[Deployment]:
    """The deployments a key may call (``GET /v1/models``)."""
    return _allowed(key, Deployment.objects.filter(workspace_id=key.workspace_id)).order_by("slug")


def run_for_key(*, key: ApiKey, run_id: str) -> Run:
    """A run started through a deployment this key may call, or ``NotFound``."""
    run = (
        Run.objects.select_related("workflow_version")
        .defer("workflow_version__content")
        .filter(workspace_id=key.workspace_id, id=run_id, deployment_id__isnull=False)
        .first()
    )
    if run is None:
        raise NotFound("Run not found.")
    if not key.all_deployments and not key.deployments.filter(pk=run.deployment_id or 0).exists():
        raise NotFound("Run not found.")
    return run


@dataclass(frozen=True)
class DeploymentCounters:
    """A deployment's dashboard figures since ``since``."""

    since: datetime
    runs: int
    succeeded: int
    errors: int
    active: int
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal
    model_calls: int

    def to_dict(self) -> dict[str, Any]:
        """JSON body."""
        return {
            "since": self.since, "runs": self.runs, "succeeded": self.succeeded, "errors": self.errors,
            "active": self.active, "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens, "cost": str(self.cost),
            "model_calls": self.model_calls,
        }  # fmt: skip


def deployment_counters(*, deployment: Deployment, since: datetime | None = None) -> DeploymentCounters:
    """Runs, errors, tokens and cost of a deployment since ``since`` (default: today, UTC).

    Aggregated from the indexed ``Run.deployment_id`` and ``UsageRecord.deployment_id`` columns rather than
    counters bumped on every call: nothing is written on the request path, and the figures cannot drift.
    """
    since = since or timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    runs = Run.objects.filter(deployment_id=deployment.pk, created_at__gte=since).aggregate(
        runs=Count("id"),
        succeeded=Count("id", filter=Q(status=RunStatus.SUCCEEDED)),
        errors=Count("id", filter=Q(status=RunStatus.FAILED)),
        active=Count("id", filter=Q(status__in=(RunStatus.QUEUED, RunStatus.RUNNING))),
        prompt_tokens=Sum("prompt_tokens"),
        completion_tokens=Sum("completion_tokens"),
    )
    usage = UsageRecord.objects.filter(deployment_id=str(deployment.pk), created_at__gte=since).aggregate(
        cost=Sum("cost"), calls=Count("id")
    )
    return DeploymentCounters(
        since=since, runs=runs["runs"], succeeded=runs["succeeded"], errors=runs["errors"],
        active=runs["active"], prompt_tokens=runs["prompt_tokens"] or 0,
        completion_tokens=runs["completion_tokens"] or 0, cost=usage["cost"] or Decimal(0),
        model_calls=usage["calls"],
    )  # fmt: skip
