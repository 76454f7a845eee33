"""Every evaluator kind: validating a config (with the field at fault) and scoring a case."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from llmops.core.errors import ValidationError
from llmops.evaluations.evaluators import judge, model_based
from llmops.evaluations.evaluators.base import ConfigProblem, EvalCase, Score
from llmops.evaluations.evaluators.deterministic import ALIASES, CHECKS, SCORERS
from workflows import CallContext, CodeSandbox, ModelGateway

if TYPE_CHECKING:
    from llmops.accounts.models import Workspace

Category = Literal["deterministic", "operational", "model", "code", "retrieval"]
Check = Callable[[dict[str, Any]], dict[str, Any]]
Scorer = Callable[[dict[str, Any], EvalCase], Score]


@dataclass(frozen=True, slots=True)
class EvaluatorKind:
    """One kind of evaluator: its config check, and for a pure kind its (synchronous) scorer; the others
    call a model, the sandbox or a knowledge base, and are scored by :func:`evaluate`."""

    name: str
    category: Category
    check: Check
    scorer: Scorer | None = None


def _pure(name: str, category: Category) -> EvaluatorKind:
    return EvaluatorKind(name, category, CHECKS[name], SCORERS[name])


_OPERATIONAL = ("latency_ms_max", "cost_max", "tokens_max", *ALIASES)
REGISTRY: dict[str, EvaluatorKind] = {
    **{name: _pure(name, "deterministic") for name in CHECKS if name not in _OPERATIONAL},
    **{name: _pure(name, "operational") for name in _OPERATIONAL},
    "embedding_similarity": EvaluatorKind(
        "embedding_similarity", "model", model_based.check_embedding_similarity
    ),
    "llm_judge": EvaluatorKind("llm_judge", "model", judge.check_llm_judge),
    "code": EvaluatorKind("code", "code", model_based.check_code),
    "retrieval": EvaluatorKind("retrieval", "retrieval", model_based.check_retrieval),
}
KINDS = tuple(
    sorted(name for name in REGISTRY if name not in ALIASES)
)  # the names to offer (aliases work too)


def validate_config(kind: str, config: Any, *, field: str = "config") -> dict[str, Any]:
    """The normalised config of an evaluator of ``kind``; ``ValidationError`` naming ``<field>.<name>``
    (or ``kind``) when it is wrong."""
    entry = REGISTRY.get(kind) if isinstance(kind, str) else None
    if entry is None:
        raise ValidationError(
            f"Unknown evaluator kind {kind!r}.", fields={"kind": [f"One of {', '.join(KINDS)}."]}
        )
    if not isinstance(config, dict):
        raise ValidationError(
            "The evaluator config must be an object.", fields={field: ["Expected an object."]}
        )
    try:
        return entry.check(config)
    except ConfigProblem as problem:
        raise ValidationError(
            f"Invalid {kind} evaluator: {problem.message}",
            fields={f"{field}.{problem.field}": [problem.message]},
        ) from None


async def evaluate(
    kind: str,
    config: dict[str, Any],
    case: EvalCase,
    *,
    workspace: Workspace | int | None = None,
    gateway: ModelGateway | None = None,
    run_id: str | None = None,
    context: CallContext | None = None,
    sandbox: CodeSandbox | None = None,
    workspace_id: int | None = None,
) -> Score:
    """Score ``case`` with a config as :func:`validate_config` returned it; never raises for the case's or
    the evaluator's failures (the Score carries the error).

    Model calls go through ``gateway``, or else the platform gateway of ``workspace`` metered as usage of
    source ``evaluation`` under ``run_id``; ``context`` names the call on its usage row. ``sandbox`` runs
    ``code`` evaluators (a new one from the settings when left out). ``workspace_id`` is ``workspace`` by
    its key, as older callers pass it.
    """
    entry = REGISTRY.get(kind)
    if entry is None:
        return Score.failed(f"unknown evaluator kind {kind!r}")
    try:
        if entry.scorer is not None:
            return entry.scorer(config, case)
        tenant = workspace if workspace is not None else workspace_id
        context = context or CallContext(run_id=run_id or "", node_id=f"evaluator:{kind}")
        return await _score_with_calls(kind, config, case, tenant, gateway, context, sandbox)
    except Exception as exc:  # a provider outage, a bad endpoint reference: this item's score says so
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return Score.failed(f"{kind} evaluator failed: {message}"[:400])


async def _score_with_calls(
    kind: str,
    config: dict[str, Any],
    case: EvalCase,
    tenant: Workspace | int | None,
    gateway: ModelGateway | None,
    context: CallContext,
    sandbox: CodeSandbox | None,
) -> Score:
    if kind == "code":
        return await model_based.score_code(config, case, sandbox or _new_sandbox())
    if kind == "retrieval":
        if tenant is None:
            return Score.failed("the retrieval evaluator needs the workspace")
        return await model_based.score_retrieval(config, case, _pk(tenant))
    if gateway is None:
        if tenant is None:
            return Score.failed(f"the {kind} evaluator needs the workspace (or a model gateway)")
        gateway = metered_gateway(tenant, context.run_id)
    if kind == "llm_judge":
        return await judge.score_llm_judge(config, case, gateway, context)
    return await model_based.score_embedding_similarity(config, case, gateway, context)


def _pk(workspace: Workspace | int) -> int:
    return workspace if isinstance(workspace, int) else workspace.pk


def metered_gateway(workspace: Workspace | int, run_id: str | None = None) -> ModelGateway:
    """The platform gateway of ``workspace`` for evaluators: usage rows of source ``evaluation``."""
    from llmops.accounts.models import Workspace
    from llmops.prompts.gateway import gateway_for
    from llmops.usage.models import UsageSource

    # Only the workspace's key is read, so an id needs no query.
    tenant = Workspace(pk=workspace) if isinstance(workspace, int) else workspace
    return gateway_for(workspace=tenant, source=UsageSource.EVALUATION, run_id=run_id or None)


def _new_sandbox() -> CodeSandbox:
    from llmops.runs.ports import build_sandbox

    return build_sandbox()
