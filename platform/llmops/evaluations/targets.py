"""What an evaluation run evaluates: a workflow, prompt or chain version, or a deployment's target.

``target_resolve`` pins the version when a run is created (a deployment's target at the deployment's own
version: a number, ``latest`` or a label, resolved then). ``prompt_call`` and ``chain_call`` execute one item
against a prompt or chain version through the same code as their other callers (the prompt's playground call:
render, input and output moderation, one gateway call; the chain executor of ``runs.execution.chain`` under a
lease that keeps the item's claim fresh), metered with source ``evaluation`` under the item's ``trace_id``.
Workflow versions run as runs (``llmops.evaluations.execution``).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.utils import timezone

from llmops.accounts.models import Workspace
from llmops.chains.models import Chain
from llmops.chains.runner import ChainExecutor
from llmops.chains.selectors import chain_snapshot
from llmops.core import versioning
from llmops.core.errors import NotFound, ValidationError
from llmops.deployments.models import Deployment
from llmops.evaluations.models import TARGET_FIELDS, EvaluationItem, EvaluationRun, TargetKind
from llmops.knowledge.engine_retriever import PlatformRetriever
from llmops.knowledge.recording import knowledge_versions_record
from llmops.prompts.models import Prompt
from llmops.prompts.playground import playground_complete, playground_prepare
from llmops.providers.gateway import PlatformModelGateway
from llmops.runs.execution.chain import chain_execute
from llmops.studio.models import Workflow
from llmops.usage.models import UsageSource
from workflows import CallContext

TARGET_PARAMETERS = ("workflow", "prompt", "chain", "deployment")


@dataclass(frozen=True, slots=True)
class Target:
    """A resolved target: its kind, resource and pinned version, and the deployment it came from."""

    kind: TargetKind
    resource: Workflow | Prompt | Chain
    version: Any
    deployment: Deployment | None = None

    def fields(self) -> dict[str, Any]:
        """The run's target fields."""
        resource_field, version_field = TARGET_FIELDS[self.kind]
        return {
            "target_kind": self.kind, resource_field: self.resource, version_field: self.version,
            "deployment": self.deployment,
        }  # fmt: skip


def version_or_400(resource: Any, ref: Any, field: str) -> Any:
    """``resource`` at ``ref``; an unknown version is a 400 naming ``field``."""
    try:
        return versioning.version_resolve(resource=resource, ref=ref)
    except NotFound as exc:
        raise ValidationError(exc.message, fields={field: [exc.message]}) from None


def target_count_check(given: list[str]) -> None:
    """400 (field ``target``) unless exactly one kind of target was given."""
    if len(given) != 1:
        message = "Give exactly one target: a workflow, a prompt, a chain or a deployment."
        raise ValidationError(message, fields={"target": [message]})


def target_resolve(
    *,
    workflow: Workflow | None = None,
    prompt: Prompt | None = None,
    chain: Chain | None = None,
    deployment: Deployment | None = None,
    ref: Any = "latest",
    ref_field: str = "version",
) -> Target:
    """Exactly one of the four, at ``ref`` (a deployment uses its own version); 400 naming the field."""
    target_count_check(
        [name for name, value in zip(TARGET_PARAMETERS, (workflow, prompt, chain, deployment), strict=True)
         if value is not None]
    )  # fmt: skip
    if deployment is not None:
        if deployment.workflow_id is not None:
            resource: Any = deployment.workflow
            kind = TargetKind.WORKFLOW
        else:
            resource, kind = deployment.chain, TargetKind.CHAIN
        return Target(kind, resource, version_or_400(resource, deployment.version, "deployment"), deployment)
    if workflow is not None:
        return Target(TargetKind.WORKFLOW, workflow, version_or_400(workflow, ref, ref_field))
    if prompt is not None:
        version = version_or_400(prompt, ref, ref_field)
        if not (version.content or {}).get("model"):
            message = f"Prompt {prompt.slug!r} v{version.number} names no model endpoint to call."
            raise ValidationError(message, fields={"prompt": [message]})
        return Target(TargetKind.PROMPT, prompt, version)
    assert chain is not None
    return Target(TargetKind.CHAIN, chain, version_or_400(chain, ref, ref_field))


def target_lookup(*, workspace: Workspace, kind: str, slug: str) -> Any:
    """The workspace's workflow, prompt, chain or deployment called ``slug``; 400 naming ``kind`` if none."""
    model: Any = {"workflow": Workflow, "prompt": Prompt, "chain": Chain, "deployment": Deployment}[kind]
    found = model.objects.filter(workspace=workspace, slug=slug).first()
    if found is None:
        raise ValidationError(f"No such {kind}.", fields={kind: [f"No {kind} {slug!r}."]})
    return found


# --- executing a prompt or chain item ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """One prompt or chain call's answer (or the reason it failed), with its figures."""

    output: Any
    error: str
    latency_ms: float | None
    prompt_tokens: int
    completion_tokens: int
    cost: Decimal


def new_trace_id() -> str:
    """A call id for one item's target call: the ``run_id`` its usage rows carry."""
    return f"evaltarget-{uuid.uuid4().hex}"


class ItemLease:
    """The lease ``runs.execution.chain`` renews while a chain runs: here, the item's ``claimed_at``, so the
    sweep does not hand a long call's item to another worker."""

    interval = 30.0

    def __init__(self, item: EvaluationItem, claim: uuid.UUID) -> None:
        self.id = f"evaluation item {item.pk}"
        self._item_pk, self._claim = item.pk, claim

    def renew(self) -> None:
        """Mark the item as still being worked on (a lost claim renews nothing)."""
        EvaluationItem.objects.filter(pk=self._item_pk, claim=self._claim).update(claimed_at=timezone.now())


async def prompt_call(run: EvaluationRun, item: EvaluationItem, trace_id: str) -> CallOutcome:
    """Render the prompt version with the item's inputs and call its model (input/output moderation as in the
    playground: a blocked call's output is the verdict)."""
    assert run.prompt is not None and run.prompt_version is not None, "a prompt target"
    started = time.perf_counter()
    call = await sync_to_async(playground_prepare)(
        workspace=run.workspace, user=None, prompt=run.prompt, version=run.prompt_version.number,
        variables=item.inputs, source=UsageSource.EVALUATION, run_id=trace_id,
    )  # fmt: skip
    answer = await playground_complete(call)
    latency = (time.perf_counter() - started) * 1000
    if answer.get("blocked"):
        return CallOutcome(answer, "", latency, 0, 0, Decimal(0))
    usage = answer["usage"]
    cost = Decimal(str(usage["cost"])) if usage.get("cost") is not None else Decimal(0)
    return CallOutcome(
        answer["text"], "", latency, usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0), cost
    )


async def chain_call(
    run: EvaluationRun, item: EvaluationItem, claim: uuid.UUID, trace_id: str
) -> CallOutcome:
    """Run the chain version with the item's inputs (no conversation; its retrieval searches the workspace)."""
    assert run.chain is not None and run.chain_version is not None, "a chain target"
    started = time.perf_counter()
    slug = run.chain.slug
    snapshot = await sync_to_async(chain_snapshot)(chain=run.chain, version=run.chain_version.number)
    gateway = PlatformModelGateway(
        workspace=run.workspace, source=UsageSource.EVALUATION, run_id=trace_id, node_id=slug
    )
    context = CallContext(trace_id, slug, workspace_id=str(run.workspace_id))
    retriever = PlatformRetriever(
        workspace_id=run.workspace_id,
        gateway=gateway,
        on_resolved=lambda resolved: knowledge_versions_record(EvaluationRun, run.pk, resolved),
    )
    executor = ChainExecutor(run.workspace, gateway, context, retriever=retriever, metered_run_id=trace_id)
    outcome = await chain_execute(
        executor, snapshot, dict(item.inputs), conversation_id=None, lease=ItemLease(item, claim)
    )
    latency = (time.perf_counter() - started) * 1000
    usage = outcome.usage
    output = outcome.verdict.to_dict() if outcome.verdict is not None else outcome.output
    return CallOutcome(
        output, "", latency, usage.prompt_tokens, usage.completion_tokens, outcome.cost or Decimal(0)
    )
