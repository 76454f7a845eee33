"""Evaluators that call something outside the worker: embedding similarity (through the metered gateway, as
usage of source ``evaluation``), custom Python in the code sandbox, and retrieval from a knowledge base.
(The LLM judge has its own module, ``judge``.)
"""

from __future__ import annotations

import ast
import math
from typing import Any

from llmops.evaluations.evaluators.base import (
    ConfigProblem,
    EvalCase,
    Score,
    as_text,
    endpoint_of,
    threshold_of,
)
from workflows import CallContext, CodeSandbox, ModelGateway, SandboxLimits

MAX_CODE_CHARS = 50_000
MAX_FIELD_CHARS = 12_000  # of output and expected sent to the embedding model
CODE_LIMITS = SandboxLimits(wall_seconds=10.0, cpu_seconds=5, memory_bytes=256 * 1024 * 1024)


def check_embedding_similarity(config: dict[str, Any]) -> dict[str, Any]:
    """``model`` (an embedding endpoint) and ``threshold`` (default 0.8)."""
    return {"model": endpoint_of(config), "threshold": threshold_of(config, 0.8)}


def check_code(config: dict[str, Any]) -> dict[str, Any]:
    """``code`` defining a top-level ``evaluate(inputs, output, expected)``, ``threshold`` (default 0.5)."""
    code = config.get("code")
    if not isinstance(code, str) or not code.strip():
        raise ConfigProblem("code", "Python code defining evaluate(inputs, output, expected) is required.")
    if len(code) > MAX_CODE_CHARS:
        raise ConfigProblem("code", f"At most {MAX_CODE_CHARS} characters.")
    try:
        tree = ast.parse(code, "<evaluator>")
    except SyntaxError as exc:
        raise ConfigProblem("code", f"Syntax error on line {exc.lineno}: {exc.msg}.") from None
    if not any(isinstance(node, ast.FunctionDef) and node.name == "evaluate" for node in tree.body):
        raise ConfigProblem(
            "code", "The code must define a top-level function evaluate(inputs, output, expected)."
        )
    return {"code": code, "threshold": threshold_of(config, 0.5)}


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


async def score_embedding_similarity(
    config: dict[str, Any], case: EvalCase, gateway: ModelGateway, context: CallContext
) -> Score:
    """Cosine similarity of output and expected (negative similarities count as 0)."""
    if not case.expected_text.strip():
        return Score.failed("the item has no expected output to compare with")
    if not case.output_text.strip():
        return Score.of(0.0, config["threshold"], "the output is empty")
    result = await gateway.embed(
        config["model"], [case.output_text[:MAX_FIELD_CHARS], case.expected_text[:MAX_FIELD_CHARS]], context
    )
    if len(result.vectors) != 2:
        return Score.failed(f"the embedding model answered {len(result.vectors)} vectors for 2 texts")
    similarity = max(0.0, _cosine(result.vectors[0], result.vectors[1]))
    return Score.of(similarity, config["threshold"], f"cosine similarity {similarity:.3f}")


# The user's code comes first, so the line numbers in its tracebacks are its own. ``main`` only shapes the
# result into JSON; the worker judges it (below), outside the sandbox.
CODE_WRAPPER = """{code}


def main(inputs, output, expected):
    result = evaluate(inputs, output, expected)
    if isinstance(result, dict):
        return {{"score": result.get("score"), "passed": result.get("passed"), "reason": result.get("reason")}}
    if isinstance(result, (bool, int, float)):
        return {{"score": result, "passed": None, "reason": None}}
    raise TypeError("evaluate() returned " + type(result).__name__ + ": return a bool, a number or a dict")
"""


def _code_score(outputs: dict[str, Any], threshold: float) -> Score:
    """``evaluate``'s answer: a bool, a number in [0, 1], or ``{"score", "passed", "reason"}`` (a dict may
    give either; ``passed`` given overrides the threshold)."""
    score, passed, reason = outputs.get("score"), outputs.get("passed"), outputs.get("reason")
    reason = "" if reason is None else str(reason)[:400]
    if passed is not None and not isinstance(passed, bool):
        return Score.failed("evaluate() returned a 'passed' that is not true or false")
    if isinstance(score, bool):
        passed = score if passed is None else passed
        score = 1.0 if score else 0.0
    elif score is None and passed is not None:
        score = 1.0 if passed else 0.0
    if not isinstance(score, int | float) or not math.isfinite(score):
        return Score.failed(f"evaluate() returned no score (a number in [0, 1]): {score!r}"[:400])
    if not 0 <= score <= 1:
        return Score.failed(f"evaluate() returned the score {score:g}, outside [0, 1]")
    if passed is None:
        return Score.of(score, threshold, reason or f"score {score:g}")
    return Score(score=float(score), passed=passed, reason=reason or f"score {score:g}")


async def score_code(config: dict[str, Any], case: EvalCase, sandbox: CodeSandbox) -> Score:
    """Run the evaluator's ``evaluate(inputs, output, expected)`` in the sandbox (no network, no files
    outside its own folder, CPU, memory and time limits), as the code node runs ``main``."""
    result = await sandbox.run(
        CODE_WRAPPER.format(code=config["code"]),
        {"inputs": case.inputs, "output": case.output, "expected": case.expected},
        CODE_LIMITS,
    )
    if not result.ok:
        return Score.failed(f"the evaluator's code failed: {result.error_type}: {result.error}"[:400])
    return _code_score(result.outputs, config["threshold"])


def check_retrieval(config: dict[str, Any]) -> dict[str, Any]:
    """A retrieval check of a knowledge base: ``knowledge_base`` (slug), ``question_input`` (default
    ``question``), ``mode`` (hybrid, vector, full_text), ``top_k`` (default 10), ``hit_at`` (default 5)."""
    slug = config.get("knowledge_base")
    if not isinstance(slug, str) or not slug.strip():
        raise ConfigProblem("knowledge_base", "A knowledge base of the workspace is required (its slug).")
    mode = config.get("mode", "hybrid")
    if mode not in ("hybrid", "vector", "full_text"):
        raise ConfigProblem("mode", "One of hybrid, vector, full_text.")
    question = config.get("question_input", "question")
    if not isinstance(question, str) or not question:
        raise ConfigProblem("question_input", "The name of the input holding the question.")
    top_k, hit_at = config.get("top_k", 10), config.get("hit_at", 5)
    for name, value in (("top_k", top_k), ("hit_at", hit_at)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
            raise ConfigProblem(name, "An integer between 1 and 100.")
    return {
        "knowledge_base": slug.strip(),
        "mode": mode,
        "question_input": question,
        "top_k": top_k,
        "hit_at": hit_at,
    }


def _retrieved_rank(config: dict[str, Any], case: EvalCase, workspace_id: int) -> tuple[int | None, int]:
    from llmops.knowledge.models import KnowledgeBase
    from llmops.knowledge.retrieval_quality import rank_of
    from llmops.knowledge.search import knowledge_search_result

    kb = KnowledgeBase.objects.filter(workspace_id=workspace_id, slug=config["knowledge_base"]).first()
    if kb is None:
        raise LookupError(f"no knowledge base {config['knowledge_base']!r} in this workspace")
    question = as_text(case.inputs.get(config["question_input"], ""))
    result = knowledge_search_result(
        knowledge_bases=[kb], query=question, mode=config["mode"], top_k=config["top_k"], score_threshold=0.0
    )
    return rank_of((hit.text for hit in result.hits), case.expected_text), len(result.hits)


async def score_retrieval(config: dict[str, Any], case: EvalCase, workspace_id: int) -> Score:
    """The reciprocal rank of the first hit holding the expected passage (so a run's mean score is its MRR
    and its pass rate its hit@``hit_at``), as ``llmops.knowledge.retrieval_quality`` measures it."""
    from asgiref.sync import sync_to_async

    if not case.expected_text.strip():
        return Score.failed("the item has no expected passage")
    rank, hits = await sync_to_async(_retrieved_rank)(config, case, workspace_id)
    if rank is None:
        return Score(
            score=0.0, passed=False, reason=f"the passage is not in the top {hits}", details={"rank": None}
        )
    return Score(
        score=1.0 / rank,
        passed=rank <= config["hit_at"],
        reason=f"the passage is hit {rank}",
        details={"rank": rank},
    )
