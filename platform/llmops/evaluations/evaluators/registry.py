"""Every evaluator kind: validating a config (with the field at fault) and scoring a case."""

from __future__ import annotations

from typing import Any

from llmops.core.errors import ValidationError
from llmops.evaluations.evaluators import model_based
from llmops.evaluations.evaluators.base import EvalCase, Score
from llmops.evaluations.evaluators.deterministic import CHECKS, SCORERS, ConfigProblem
from workflows import CallContext, ModelGateway

MODEL_CHECKS = {
    "llm_judge": model_based.check_llm_judge,
    "embedding_similarity": model_based.check_embedding_similarity,
    "code": model_based.check_code,
    "retrieval": model_based.check_retrieval,
}
KINDS = tuple(sorted({*CHECKS, *MODEL_CHECKS}))


def validate_config(kind: str, config: Any, *, field: str = "config") -> dict[str, Any]:
    """The normalised config of an evaluator of ``kind``; ``ValidationError`` naming ``<field>.<name>``
    (or ``kind``) when it is wrong."""
    check = CHECKS.get(kind) or MODEL_CHECKS.get(kind)
    if check is None:
        raise ValidationError(
            f"Unknown evaluator kind {kind!r}.", fields={"kind": [f"One of {', '.join(KINDS)}."]}
        )
    if not isinstance(config, dict):
        raise ValidationError(
            "The evaluator config must be an object.", fields={field: ["Expected an object."]}
        )
    try:
        return check(config)
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
    gateway: ModelGateway | None = None,
    context: CallContext | None = None,
    sandbox: Any = None,
    workspace_id: int | None = None,
) -> Score:
    """Score ``case`` with a validated config; never raises for the case's or the evaluator's failures."""
    try:
        if kind in SCORERS:
            return SCORERS[kind](config, case)
        context = context or CallContext(run_id="", node_id=f"evaluator:{kind}")
        if kind == "code":
            return await model_based.score_code(config, case, sandbox)
        if kind == "retrieval":
            if workspace_id is None:
                return Score.failed("the retrieval evaluator needs the workspace")
            return await model_based.score_retrieval(config, case, workspace_id)
        if gateway is None:
            return Score.failed(f"the {kind} evaluator needs a model gateway")
        if kind == "llm_judge":
            return await model_based.score_llm_judge(config, case, gateway, context)
        if kind == "embedding_similarity":
            return await model_based.score_embedding_similarity(config, case, gateway, context)
    except Exception as exc:  # a provider outage, a bad endpoint reference: this item's score says so
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return Score.failed(f"{kind} evaluator failed: {message}"[:400])
    return Score.failed(f"unknown evaluator kind {kind!r}")
