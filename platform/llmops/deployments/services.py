"""Writes of deployments: CRUD, pause/resume, API keys, key authentication, and admitting a run.

Admitting a run (``deployment_run_admit``) decides how it executes and returns that decision, an
``Admitted`` (``llmops.runs.execution``'s tagged union), which the view finishes or follows:

- instant (a small workflow of fast nodes, no ``Idempotency-Key``): inputs and the concurrency limit are
  checked, then ``runs.execution.instant`` executes it in memory and stores it finished;
- otherwise one transaction writes the idempotency record, checks the concurrency limit and creates the
  ``Run`` row (plus its ``DeploymentRun`` context when it has a chat turn or a webhook); an inline run is
  claimed (``runs.services.run_claim``, the same compare-and-set a worker uses) before the transaction
  commits, a worker run is enqueued after it commits (``deployments.tasks``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from llmops.accounts.models import User, Workspace
from llmops.core import versioning
from llmops.core.enqueue import enqueue_on_commit
from llmops.core.errors import AuthenticationRequired, Conflict, PermissionDenied, ValidationError
from llmops.deployments import idempotency, keys
from llmops.deployments.limits import concurrency_admit, concurrency_check, redis_required
from llmops.deployments.models import (
    ALL_SCOPES,
    KEY_SCOPES,
    ApiKey,
    Deployment,
    DeploymentRun,
    DeploymentStatus,
    Execution,
    IdempotencyRecord,
)
from llmops.deployments.selectors import api_key_by_prefix
from llmops.deployments.tasks import deployment_run_execute
from llmops.runs.execution import ChatContext, InlineExecution, InstantExecution, WorkerExecution
from llmops.runs.execution.instant import fast_graph, instant_run
from llmops.runs.graphs import compiled_graph
from llmops.runs.models import Run, RunStatus, Trigger
from llmops.runs.services import run_claim, run_inputs_validate
from llmops.studio.models import WorkflowVersion
from llmops.usage.budgets import CallScope, budget_check
from workflows import CompiledGraph, WorkflowValidationError

LAST_USED_RESOLUTION = timedelta(minutes=1)


# --- deployments -------------------------------------------------------------------------------------------
def _check_target(*, workspace: Workspace, data: dict[str, Any]) -> None:
    workflow, chain = data.get("workflow"), data.get("chain")
    if (workflow is None) == (chain is None):
        raise ValidationError(
            "A deployment publishes exactly one workflow or one chain.",
            fields={"workflow": ["Give a workflow or a chain, not both."]},
        )
    target: Any = workflow or chain
    if target.workspace_id != workspace.pk:
        raise ValidationError("Unknown target.", fields={"workflow" if workflow else "chain": ["Not found."]})
    versioning.version_resolve(resource=target, ref=data.get("version", "latest"))


@transaction.atomic
def deployment_create(*, workspace: Workspace, user: User | None, **data: Any) -> Deployment:
    """Publish a workflow or chain version (or label) under a slug; the version must resolve now."""
    _check_target(workspace=workspace, data=data)
    taken = Conflict(f"A deployment {data['slug']!r} already exists.")
    if Deployment.objects.filter(workspace=workspace, slug=data["slug"]).exists():
        raise taken
    return versioning.unique_write(
        lambda: Deployment.objects.create(workspace=workspace, created_by=user, **data), taken
    )


@transaction.atomic
def deployment_update(*, deployment: Deployment, **data: Any) -> Deployment:
    """Change a deployment's target, version, limits or webhook."""
    merged = {"workflow": deployment.workflow, "chain": deployment.chain, "version": deployment.version}
    merged.update({k: v for k, v in data.items() if k in merged})
    _check_target(workspace=deployment.workspace, data=merged)
    slug = data.get("slug", deployment.slug)
    taken = Conflict(f"A deployment {slug!r} already exists.")
    if (
        slug != deployment.slug
        and Deployment.objects.filter(workspace_id=deployment.workspace_id, slug=slug).exists()
    ):
        raise taken
    for name, value in data.items():
        setattr(deployment, name, value)
    versioning.unique_write(deployment.save, taken)
    return deployment


def deployment_set_status(*, deployment: Deployment, status: str) -> Deployment:
    """Pause (calls get 409) or resume a deployment."""
    Deployment.objects.filter(pk=deployment.pk).update(status=status, updated_at=timezone.now())
    deployment.status = status
    return deployment


def deployment_webhook_secret_rotate(*, deployment: Deployment) -> Deployment:
    """A new webhook signing secret (returned once by the console API)."""
    from llmops.deployments.models import _webhook_secret

    deployment.webhook_secret = _webhook_secret()
    deployment.save(update_fields=["webhook_secret", "updated_at"])
    return deployment


# --- API keys ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CreatedKey:
    """A new key and its token (shown once)."""

    key: ApiKey
    token: str


@transaction.atomic
def api_key_create(
    *,
    workspace: Workspace,
    user: User | None,
    name: str,
    scopes: list[str] | None = None,
    deployments: list[Deployment] | None = None,
    requests_per_minute: int | None = None,
    expires_at: Any = None,
) -> CreatedKey:
    """Create a key; only its prefix and digest are stored, the token is returned once."""
    scopes = list(scopes if scopes is not None else ALL_SCOPES)
    unknown = [s for s in scopes if s not in KEY_SCOPES]
    if unknown or not scopes:
        raise ValidationError("Invalid scopes.", fields={"scopes": [f"Choose from {', '.join(KEY_SCOPES)}."]})
    if any(d.workspace_id != workspace.pk for d in deployments or []):
        raise ValidationError("Unknown deployment.", fields={"deployments": ["Not in this workspace."]})
    token, prefix = keys.token_new()
    key = ApiKey.objects.create(
        workspace=workspace, name=name, prefix=prefix, digest=keys.token_digest(token), scopes=scopes,
        all_deployments=not deployments, requests_per_minute=requests_per_minute, expires_at=expires_at,
        created_by=user,
    )  # fmt: skip
    if deployments:
        key.deployments.set(deployments)
    return CreatedKey(key, token)


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    """Revoke a key at once (idempotent: the first revocation time is kept)."""
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    key.refresh_from_db()
    return key


def api_key_authenticate(*, token: str) -> ApiKey:
    """The live key of a presented token; ``AuthenticationRequired`` for unknown, revoked or expired ones.

    ``last_used_at`` is written at most once a minute per key (a conditional update), not on every call.
    """
    prefix = keys.token_prefix(token)
    key = api_key_by_prefix(prefix=prefix) if prefix else None
    verified = keys.token_verify(token, key.digest) if key is not None else keys.Verified.NO
    if key is None or verified is keys.Verified.NO:
        raise AuthenticationRequired("Invalid API key.")
    if verified is keys.Verified.LEGACY:  # issued before LLMOPS_API_KEY_PEPPER was set: move it over
        key.digest = keys.token_digest(token)
        ApiKey.objects.filter(pk=key.pk).update(digest=key.digest)
    if key.revoked_at is not None:
        raise AuthenticationRequired("This API key was revoked.")
    if key.is_expired:
        raise AuthenticationRequired("This API key has expired.")
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk, last_used_at=key.last_used_at).update(last_used_at=now)
        key.last_used_at = now
    return key


def api_key_require_scope(*, key: ApiKey, scope: str) -> None:
    """403 unless the key carries ``scope``."""
    if scope not in key.scopes:
        raise PermissionDenied(f"This API key lacks the {str(scope)!r} scope.")


# --- admitting a run ---------------------------------------------------------------------------------------
@dataclass
class RunRequest:
    """A validated call of a workflow deployment."""

    deployment: Deployment
    key: ApiKey
    inputs: dict[str, Any]
    mode: str  # blocking | streaming | async
    end_user: str = ""
    webhook_url: str = ""
    query: str = ""
    history: list[dict[str, str]] = field(default_factory=list)
    conversation_id: str = ""
    idempotency_key: str = ""
    body: Any = None  # what the idempotency hash covers
    version: WorkflowVersion | None = None  # already resolved by the caller


# What admission decided: how the run executes (``llmops.runs.execution``'s tagged union of modes).
Admitted = InstantExecution | InlineExecution | WorkerExecution


def deployment_version(*, deployment: Deployment) -> WorkflowVersion:
    """The workflow version a call runs now (a label is resolved at call time)."""
    assert deployment.workflow is not None
    return versioning.version_resolve(resource=deployment.workflow, ref=deployment.version)  # type: ignore[return-value]


def runs_inline(*, deployment: Deployment, version: WorkflowVersion, mode: str) -> bool:
    """Whether a call executes in the web process: never ``async``; ``auto`` only for small fast graphs."""
    if mode == "async" or deployment.execution == Execution.WORKER:
        return False
    return deployment.execution == Execution.INLINE or fast_graph(version)


def _idempotent_replay(request: RunRequest) -> Run | None:
    """Record the idempotency key; return the earlier run when it was seen with the same body."""
    record, created = idempotency.idempotency_claim(
        key=request.key, idempotency_key=request.idempotency_key, deployment=request.deployment,
        body=request.body,
    )  # fmt: skip
    if created:
        return None
    if record.run is None:
        raise Conflict(idempotency.IDEMPOTENCY_IN_FLIGHT)
    return record.run


def deployment_run_admit(*, request: RunRequest) -> Admitted:
    """Validate, apply the concurrency limit, create the run and claim it (inline) or enqueue it (worker).

    A small workflow of fast nodes called without an ``Idempotency-Key`` runs instantly instead: executed in
    memory, then stored finished (``llmops.runs.execution.instant``).
    While Redis is unreachable only async calls are admitted (503 otherwise, see ``limits.redis_required``).
    """
    if request.mode != "async":
        redis_required()
    budget_check(  # a spent budget refuses the call before anything runs (429 budget_exceeded)
        CallScope(
            request.deployment.workspace_id, str(request.deployment.pk), str(request.key.pk), request.end_user
        )
    )
    if request.idempotency_key or request.mode == "async":
        return _admit(request, request.version)
    version = request.version or deployment_version(deployment=request.deployment)
    if request.deployment.execution == Execution.WORKER or not fast_graph(version):
        return _admit(request, version)
    try:
        graph = compiled_graph(version)
    except WorkflowValidationError:
        return _admit(request, version)  # the regular path fails the run with the reason
    return _admit_instant(request, version, graph)


def _chat(request: RunRequest) -> ChatContext | None:
    if not (request.query or request.history or request.conversation_id):
        return None
    return ChatContext(request.query, request.history, request.conversation_id)


def _admit_instant(request: RunRequest, version: WorkflowVersion, graph: CompiledGraph) -> InstantExecution:
    deployment = request.deployment
    inputs = run_inputs_validate(version, request.inputs)
    concurrency_check(deployment_id=deployment.pk, limit=deployment.max_concurrent_runs)
    run = Run(
        id=uuid.uuid4(), workspace=deployment.workspace, workflow=deployment.workflow, workflow_version=version,
        trigger=Trigger.API, deployment_id=deployment.pk, api_key_id=request.key.pk, end_user=request.end_user,
        inputs=inputs,
    )  # fmt: skip
    chat = _chat(request)

    def store_context(run: Run) -> None:  # a chat turn: its context row lands with the run
        DeploymentRun.objects.create(
            run=run, deployment=deployment, query=request.query, history=request.history,
            conversation_id=request.conversation_id,
        )  # fmt: skip

    events = instant_run(run=run, graph=graph, chat=chat, store_with=store_context if chat else None)
    return InstantExecution(run, events)


@transaction.atomic
def _admit(request: RunRequest, version: WorkflowVersion | None) -> Admitted:
    deployment = request.deployment
    if request.idempotency_key and (earlier := _idempotent_replay(request)) is not None:
        return WorkerExecution(earlier, replayed=True)
    workflow = deployment.workflow
    assert workflow is not None
    version = version or deployment_version(deployment=deployment)
    inputs = run_inputs_validate(version, request.inputs)
    concurrency_admit(deployment_id=deployment.pk, limit=deployment.max_concurrent_runs)
    run = Run.objects.create(
        workspace=deployment.workspace, workflow=workflow, workflow_version=version, inputs=inputs,
        trigger=Trigger.API, deployment_id=deployment.pk, api_key_id=request.key.pk, end_user=request.end_user,
    )  # fmt: skip
    if request.query or request.history or request.conversation_id or request.webhook_url:
        DeploymentRun.objects.create(
            run=run, deployment=deployment, query=request.query, history=request.history,
            conversation_id=request.conversation_id, webhook_url=request.webhook_url,
        )  # fmt: skip
    if request.idempotency_key:
        IdempotencyRecord.objects.filter(
            api_key=request.key, deployment=deployment, key=request.idempotency_key
        ).update(run=run)
    if runs_inline(deployment=deployment, version=version, mode=request.mode):
        claim = uuid.uuid4()
        claimed = run_claim(run_id=str(run.id), claim=claim)
        assert claimed, "a run created in this transaction is visible to nobody else"
        run.status, run.claim = RunStatus.RUNNING, claim
        return InlineExecution(run, claim, _chat(request))
    enqueue_on_commit(deployment_run_execute, str(run.id), robust=True)
    return WorkerExecution(run)


def deployment_paused_check(*, deployment: Deployment) -> None:
    """409 for a paused deployment."""
    if deployment.status == DeploymentStatus.PAUSED:
        raise Conflict(f"Deployment {deployment.slug!r} is paused.")
