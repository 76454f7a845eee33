"""Reads of deployments: console listings, the public API's lookups by key, and dashboard counters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.db.models import Count, Field, Model, Q, QuerySet, Sum
from django.utils import timezone

from llmops.accounts.models import Workspace
from llmops.core.errors import NotFound, PermissionDenied
from llmops.deployments.models import ApiKey, Deployment
from llmops.runs.models import Run, RunStatus
from llmops.studio.models import Workflow
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


# The public API's lookups, on every call: the key with its workspace, the deployment (without its webhook
# secret, which would be decrypted for nothing) with its workflow (without the draft). Each is one raw query
# whose columns come from the models, so a new field needs no change here: the ORM's select_related compiled
# the same query for several times what executing it costs. A chain deployment's chain is loaded when used.
def _columns(
    model: type[Model], alias: str, *, skip: str = "", prefix: str = ""
) -> tuple[list[Field[Any, Any]], str]:
    fields = [f for f in model._meta.concrete_fields if f.attname != skip]
    names = ", ".join(
        f'{alias}."{f.column}"' + (f' AS "{prefix}{f.attname}"' if prefix else "") for f in fields
    )
    return fields, names


_M = TypeVar("_M", bound=Model)


def _related(instance: Model, model: type[_M], fields: list[Field[Any, Any]], prefix: str) -> _M:
    """The related row selected into ``instance``'s ``<prefix><field>`` attributes, as a ``model`` instance."""
    values = [getattr(instance, f"{prefix}{f.attname}") for f in fields]
    return model.from_db(instance._state.db, [f.attname for f in fields], values)


_, _KEY_COLUMNS = _columns(ApiKey, "k")
_KEY_WORKSPACE_FIELDS, _KEY_WORKSPACE_COLUMNS = _columns(Workspace, "w", prefix="workspace_")
_KEY_SQL = (
    f"SELECT {_KEY_COLUMNS}, {_KEY_WORKSPACE_COLUMNS} FROM {ApiKey._meta.db_table} k"
    f" JOIN {Workspace._meta.db_table} w ON w.id = k.workspace_id WHERE k.prefix = %s"
)
_, _DEPLOYMENT_COLUMNS = _columns(Deployment, "d", skip="webhook_secret")
_WORKFLOW_FIELDS, _WORKFLOW_COLUMNS = _columns(Workflow, "w", skip="draft", prefix="workflow_")
_DEPLOYMENT_SQL = (
    f"SELECT {_DEPLOYMENT_COLUMNS}, {_WORKFLOW_COLUMNS} FROM {Deployment._meta.db_table} d"
    f" LEFT JOIN {Workflow._meta.db_table} w ON w.id = d.workflow_id WHERE d.workspace_id = %s AND d.slug = %s"
)


def api_key_by_prefix(*, prefix: str) -> ApiKey | None:
    """The key with this prefix and its workspace, or None."""
    key = next(iter(ApiKey.objects.raw(_KEY_SQL, [prefix])), None)
    if key is not None:
        key.workspace = _related(key, Workspace, _KEY_WORKSPACE_FIELDS, "workspace_")
    return key


def deployment_for_key(*, key: ApiKey, slug: str) -> Deployment:
    """The deployment ``slug`` of the key's workspace: 404 when unknown, 403 when the key may not call it."""
    deployment = next(iter(Deployment.objects.raw(_DEPLOYMENT_SQL, [key.workspace_id, slug])), None)
    if deployment is None:
        raise NotFound(f"No deployment {slug!r}.")
    if deployment.workflow_id is not None:
        deployment.workflow = _related(deployment, Workflow, _WORKFLOW_FIELDS, "workflow_")
    if not key.all_deployments and not key.deployments.filter(pk=deployment.pk).exists():
        raise PermissionDenied(f"This API key may not call deployment {slug!r}.")
    deployment.workspace = key.workspace
    return deployment


def deployments_for_key(*, key: ApiKey) -> QuerySet[Deployment]:
    """The deployments a key may call (``GET /v1/models``)."""
    return _allowed(key, Deployment.objects.filter(workspace_id=key.workspace_id)).order_by("slug")


def run_for_key(*, key: ApiKey, run_id: str) -> Run:
    """A run visible to this key (read, cancel, events), or ``NotFound``.

    A key limited to some deployments sees only the runs it started itself: sharing a deployment with other
    keys (other clients, other end users' apps) must not let it read their inputs and outputs or cancel their
    runs; and it must still be allowed on the run's deployment. A key for all deployments is the workspace's
    own and sees every API run of it.
    """
    runs = Run.objects.filter(workspace_id=key.workspace_id, id=run_id, deployment_id__isnull=False)
    if not key.all_deployments:
        runs = runs.filter(api_key_id=key.pk)
    run = runs.select_related("workflow_version").defer("workflow_version__content").first()
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
