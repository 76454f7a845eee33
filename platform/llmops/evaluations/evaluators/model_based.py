"""Evaluators that call something: an LLM judge and embedding similarity (through the metered gateway, as
usage of source ``evaluation``), and custom Python in the code sandbox.

The judge's score comes back as structured output (``response_format`` with a JSON schema: a 1-5 grade and
a reason), is scaled to [0, 1], and passes at the configured threshold. A judge that answers no parsable
grade gives a failed Score naming what it said: the item shows the error, the run goes on.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from llmops.evaluations.evaluators.base import EvalCase, Score, as_text
from llmops.evaluations.evaluators.deterministic import ConfigProblem
from workflows import CallContext, ChatMessage, ChatRequest, ModelGateway, SandboxLimits

MAX_RUBRIC_CHARS = 8_000
MAX_CODE_CHARS = 50_000
MAX_FIELD_CHARS = 12_000  # of each of input, reference and answer shown to the judge
GRADE_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "grade",
        "schema": {
            "type": "object",
            "properties": {
                "score": {"type": "integer", "minimum": 1, "maximum": 5},
                "reason": {"type": "string", "maxLength": 200},
            },
            "required": ["score", "reason"],
        },
    },
}
JUDGE_PROMPT = (
    "You grade answers.\nQuestion: {input}\nReference answer: {reference}\nCandidate answer: {answer}\n"
    "Rubric: {rubric}\nScore the candidate from 1 (wrong) to 5 (fully correct, same meaning as the reference; "
    "wording and language do not matter), and give a short reason."
)


def _endpoint(config: dict[str, Any]) -> str:
    model = config.get("model")
    if not isinstance(model, str) or not model.strip():
        raise ConfigProblem("model", "A model endpoint of the workspace is required (its slug).")
    return model.strip()


def _threshold(config: dict[str, Any], default: float) -> float:
    value = config.get("threshold", default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigProblem("threshold", "A number between 0 and 1.")
    return float(value)


def check_llm_judge(config: dict[str, Any]) -> dict[str, Any]:
    """A judge config: ``model`` (a chat endpoint), ``rubric``, ``threshold`` (default 0.6 = grade 4 of 5)."""
    rubric = config.get("rubric")
    if not isinstance(rubric, str) or not rubric.strip():
        raise ConfigProblem("rubric", "A rubric is required: what makes an answer right.")
    if len(rubric) > MAX_RUBRIC_CHARS:
        raise ConfigProblem("rubric", f"At most {MAX_RUBRIC_CHARS} characters.")
    return {"model": _endpoint(config), "rubric": rubric, "threshold": _threshold(config, 0.6)}


def check_embedding_similarity(config: dict[str, Any]) -> dict[str, Any]:
    """``model`` (an embedding endpoint) and ``threshold`` (default 0.8)."""
    return {"model": _endpoint(config), "threshold": _threshold(config, 0.8)}


def check_code(config: dict[str, Any]) -> dict[str, Any]:
    """``code`` defining ``evaluate(inputs, output, expected)``, ``threshold`` (default 0.5)."""
    code = config.get("code")
    if not isinstance(code, str) or "def evaluate" not in code:
        raise ConfigProblem("code", "Python code defining evaluate(inputs, output, expected) is required.")
    if len(code) > MAX_CODE_CHARS:
        raise ConfigProblem("code", f"At most {MAX_CODE_CHARS} characters.")
    try:
        compile(code, "<evaluator>", "exec")
    except SyntaxError as exc:
        raise ConfigProblem("code", f"Syntax error on line {exc.lineno}: {exc.msg}.") from None
    return {"code": code, "threshold": _threshold(config, 0.5)}


def _grade(text: str) -> tuple[int, str] | None:
    """(grade 1-5, reason) from the judge's answer: JSON first, else a lone digit 1-5 in the text."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if (
        isinstance(data, dict)
        and isinstance(data.get("score"), int | float)
        and not isinstance(data["score"], bool)
    ):
        grade = data["score"]
        if 1 <= grade <= 5:
            return round(grade), str(data.get("reason", ""))[:400]
    match = re.search(r"(?<![\d.])([1-5])(?![\d.])", text)
    return (int(match.group(1)), text.strip()[:400]) if match else None


async def score_llm_judge(
    config: dict[str, Any], case: EvalCase, gateway: ModelGateway, context: CallContext
) -> Score:
    """Ask the judge; scale its 1-5 grade to [0, 1]."""
    prompt = JUDGE_PROMPT.format(
        rubric=config["rubric"],
        input=as_text(case.inputs)[:MAX_FIELD_CHARS],
        reference=(case.expected_text or "(none)")[:MAX_FIELD_CHARS],
        answer=case.output_text[:MAX_FIELD_CHARS],
    )
    request = ChatRequest(
        model=config["model"],
        messages=(ChatMessage(role="user", content=prompt),),
        context=context,
        parameters={"temperature": 0, "max_tokens": 80},
        response_format=GRADE_SCHEMA,
    )
    result = await gateway.chat(request)
    grade = _grade(result.text)
    if grade is None:
        return Score.failed(f"the judge returned no parsable score: {result.text.strip()[:200]!r}")
    value, reason = grade
    return Score.of((value - 1) / 4, config["threshold"], reason or f"grade {value}/5", grade=value)


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
    result = await gateway.embed(
        config["model"], [case.output_text[:MAX_FIELD_CHARS], case.expected_text[:MAX_FIELD_CHARS]], context
    )
    similarity = max(0.0, _cosine(result.vectors[0], result.vectors[1]))
    return Score.of(similarity, config["threshold"], f"cosine similarity {similarity:.3f}")


CODE_WRAPPER = """
{code}


def main(inputs, output, expected):
    result = evaluate(inputs, output, expected)
    if isinstance(result, bool):
        return {{"score": 1.0 if result else 0.0, "reason": ""}}
    if isinstance(result, (int, float)):
        return {{"score": float(result), "reason": ""}}
    if isinstance(result, dict) and "score" in result:
        return {{"score": float(result["score"]), "reason": str(result.get("reason", ""))}}
    raise TypeError("evaluate() must return a bool, a number or a dict with a score")
"""


async def score_code(config: dict[str, Any], case: EvalCase, sandbox: Any) -> Score:
    """Run the evaluator's ``evaluate`` in the sandbox (no network, no files outside its own folder)."""
    result = await sandbox.run(
        CODE_WRAPPER.format(code=config["code"]),
        {"inputs": case.inputs, "output": case.output, "expected": case.expected},
        SandboxLimits(wall_seconds=10.0, cpu_seconds=5, memory_bytes=256 * 1024 * 1024),
    )
    if not result.ok:
        return Score.failed(f"the evaluator's code failed: {result.error_type}: {result.error}"[:400])
    score = result.outputs.get("score")
    if not isinstance(score, int | float) or not math.isfinite(score):
        return Score.failed("the evaluator's code returned no finite score")
    return Score.of(
        score, config["threshold"], str(result.outputs.get("reason", ""))[:400] or f"score {score:g}"
    )


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
