"""Evaluators: every deterministic and operational kind (pass, fail, ``not``), config errors naming the
field, weighted combination, custom code in the real sandbox, the LLM judge against a scripted
OpenAI-protocol server and once against the real local instruction model, and embedding similarity
against the real local embedding server (the model calls metered as usage of source ``evaluation``)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from llmops.accounts.models import Workspace
from llmops.core.errors import ValidationError
from llmops.evaluations.evaluators import (
    KINDS,
    REGISTRY,
    EvalCase,
    Score,
    combine,
    evaluate,
    validate_config,
)
from llmops.evaluations.evaluators.judge import parse_judgement
from llmops.runs.ports import build_sandbox
from llmops.usage.models import UsageRecord, UsageSource
from tests.providers.factories import ModelEndpointFactory, endpoint_config, publish
from tests.support.openai_test_server import OpenAITestServer, ok

QUESTION = {"question": "What is the capital of France?"}
RUBRIC = "The answer names the right city."


def score(kind: str, config: dict[str, Any], output: Any, expected: Any = None, **figures: Any) -> Score:
    case = EvalCase(inputs={"question": "q"}, output=output, expected=expected, **figures)
    return async_to_sync(evaluate)(kind, validate_config(kind, config), case)


# --- deterministic ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "config", "output", "expected", "passes"), [
    ("equals", {}, " Paris ", "paris", True),
    ("equals", {"case_sensitive": True}, "paris", "Paris", False),
    ("equals", {"value": "巴黎"}, "巴黎", None, True),
    ("equals", {}, {"answer": "42"}, "42", True),
    ("contains", {"value": "Paris"}, "The capital is Paris.", None, True),
    ("contains", {}, "首都是柏林", "巴黎", False),
    ("contains_any", {"values": ["Paris", "巴黎"]}, "首都是巴黎", None, True),
    ("contains_any", {"values": ["Paris", "巴黎"]}, "Berlin", None, False),
    ("contains_all", {"values": ["Paris", "France"]}, "Paris", None, False),
    ("contains_all", {}, "red green blue", ["red", "blue"], True),
    ("starts_with", {"value": "Answer:"}, "answer: 42", None, True),
    ("starts_with", {"value": "Answer:", "case_sensitive": True}, "answer: 42", None, False),
    ("regex", {"pattern": r"\b\d{4}-\d{2}-\d{2}\b"}, "due 2026-12-04", None, True),
    ("regex", {"pattern": r"^\d+$"}, "forty-two", None, False),
    ("json_valid", {}, '{"a": 1}', None, True),
    ("json_valid", {}, "{a: 1}", None, False),
    ("json_schema", {"schema": {"type": "object", "required": ["name"]}}, '{"name": "x"}', None, True),
    ("json_schema", {"schema": {"type": "object", "required": ["name"]}}, {"nom": "x", "n": 1}, None, False),
    ("levenshtein", {"threshold": 0.8}, "kitten", "kittens", True),
    ("levenshtein", {"threshold": 0.8}, "kitten", "sitting", False),
    ("numeric", {"tolerance": 0.01}, "3.14159", "3.14", True),
    ("numeric", {"tolerance": 0.1, "relative": True}, "120", "100", False),
    ("numeric", {"value": 100, "tolerance": 0.25, "relative": True}, "120", None, True),
    ("numeric", {}, "not a number", "1", False),
])  # fmt: skip
def test_deterministic_evaluators_pass_fail_and_negate(
    kind: str, config: dict[str, Any], output: Any, expected: Any, passes: bool
) -> None:
    result = score(kind, config, output, expected)
    assert result.passed is passes, result
    assert result.error is None and 0.0 <= result.score <= 1.0 and result.reason
    negated = score(kind, {**config, "negate": True}, output, expected)
    assert negated.passed is (not passes) and negated.reason.startswith("not: ")
    assert negated.score == pytest.approx(1.0 - result.score)


def test_levenshtein_scores_the_similarity_not_just_pass_or_fail() -> None:
    result = score("levenshtein", {"threshold": 0.5}, "kitten", "sitting")
    assert result.score == pytest.approx(1 - 3 / 7) and result.passed


@pytest.mark.parametrize("kind", ["equals", "contains", "starts_with", "contains_any", "contains_all",
                                  "levenshtein", "numeric"])  # fmt: skip
def test_a_comparison_with_nothing_to_compare_is_an_error_not_a_pass(kind: str) -> None:
    for negate in (False, True):
        result = score(kind, {"negate": negate}, "anything", expected=None)
        assert result.error and "nothing to compare with" in result.error and not result.passed


def test_a_pattern_with_catastrophic_backtracking_fails_the_item_not_the_worker() -> None:
    result = score("regex", {"pattern": r"^(a|aa)+$"}, "a" * 40 + "!")
    assert not result.passed and result.error and "backtracking" in result.error


# --- operational --------------------------------------------------------------------------------------------

FIGURES = {"latency_ms": 850.0, "cost": Decimal("0.3"), "prompt_tokens": 300, "completion_tokens": 50}


@pytest.mark.parametrize(("kind", "config", "passes"), [
    ("latency_ms_max", {"max": 1000}, True),
    ("latency_ms_max", {"max": 500}, False),
    ("cost_max", {"max": 0.3}, True),  # exact: Decimal on both sides
    ("cost_max", {"max": 0.29}, False),
    ("tokens_max", {"max": 350}, True),
    ("tokens_max", {"max": 200}, False),
    ("tokens_max", {"max": 60, "count": "completion"}, True),
    ("tokens_max", {"max": 299, "count": "prompt"}, False),
    ("latency", {"max": 1000}, True),  # the older names still score
    ("tokens", {"max": 200}, False),
])  # fmt: skip
def test_operational_ceilings(kind: str, config: dict[str, Any], passes: bool) -> None:
    result = score(kind, config, "x", **FIGURES)
    assert result.passed is passes and result.score == (1.0 if passes else 0.0), result
    assert ("within" if passes else "over") in result.reason


def test_a_ceiling_on_a_figure_the_target_did_not_report_is_an_error() -> None:
    result = score("cost_max", {"max": 1}, "x", latency_ms=10.0)
    assert result.error == "the target reported no cost" and not result.passed


# --- configs ------------------------------------------------------------------------------------------------

CODE = "def evaluate(inputs, output, expected):\n    return output == expected\n"
MINIMAL: dict[str, dict[str, Any]] = {
    "equals": {}, "contains": {"value": "x"}, "contains_any": {"values": ["a"]}, "contains_all": {},
    "regex": {"pattern": "a+"}, "starts_with": {}, "json_valid": {}, "json_schema": {"schema": {"type": "object"}},
    "levenshtein": {}, "numeric": {"tolerance": 1}, "latency_ms_max": {"max": 1}, "cost_max": {"max": 0.5},
    "tokens_max": {"max": 10, "count": "prompt"}, "embedding_similarity": {"model": "minilm"},
    "llm_judge": {"model": "judge", "rubric": RUBRIC, "scale": "0-1", "prompt": "{{ output }}"},
    "code": {"code": CODE}, "retrieval": {"knowledge_base": "notes"},
}  # fmt: skip


def test_every_kind_is_offered_and_its_normalised_config_validates_unchanged() -> None:
    assert set(KINDS) == set(MINIMAL)  # a new kind needs a line here (and tests)
    assert {REGISTRY[k].category for k in ("latency_ms_max", "cost_max", "tokens_max")} == {"operational"}
    for kind, config in MINIMAL.items():
        normalised = validate_config(kind, config)
        assert validate_config(kind, normalised) == normalised, kind  # stored configs are checked again


@pytest.mark.parametrize(("kind", "config", "field"), [
    ("regex", {"pattern": "(unclosed"}, "config.pattern"),
    ("regex", {}, "config.pattern"),
    ("json_schema", {"schema": {"type": "no-such-type"}}, "config.schema"),
    ("json_schema", {"schema": "object"}, "config.schema"),
    ("levenshtein", {"threshold": 1.5}, "config.threshold"),
    ("equals", {"negate": "yes"}, "config.negate"),
    ("contains_any", {"values": []}, "config.values"),
    ("numeric", {"tolerance": -1}, "config.tolerance"),
    ("latency_ms_max", {}, "config.max"),
    ("cost_max", {"max": -0.01}, "config.max"),
    ("tokens_max", {"max": 10, "count": "all"}, "config.count"),
    ("embedding_similarity", {}, "config.model"),
    ("embedding_similarity", {"model": "minilm", "threshold": 2}, "config.threshold"),
    ("llm_judge", {"model": "judge"}, "config.rubric"),
    ("llm_judge", {"rubric": "correct?"}, "config.model"),
    ("llm_judge", {"model": "judge", "rubric": "r", "scale": "1-10"}, "config.scale"),
    ("llm_judge", {"model": "judge", "rubric": "r", "prompt": "Grade {{ output }"}, "config.prompt"),
    ("llm_judge", {"model": "judge", "rubric": "r", "prompt": "{{ output }} {{ secret }}"}, "config.prompt"),
    ("llm_judge", {"model": "judge", "rubric": "r", "prompt": "Is {{ input }} hard?"}, "config.prompt"),
    ("code", {"code": "def evaluate(inputs, output, expected):\n  return ("}, "config.code"),
    ("code", {"code": "def main(inputs):\n    return 1\n"}, "config.code"),
    ("no_such_kind", {}, "kind"),
    ("equals", ["not", "an", "object"], "config"),
])  # fmt: skip
def test_a_bad_config_is_refused_naming_the_field(kind: str, config: Any, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        validate_config(kind, config)
    assert list(refused.value.fields) == [field] and refused.value.fields[field][0]


def test_the_field_prefix_follows_where_the_config_sits() -> None:
    with pytest.raises(ValidationError) as refused:
        validate_config("regex", {"pattern": "("}, field="evaluators.2.config")
    assert "evaluators.2.config.pattern" in refused.value.fields


# --- combination --------------------------------------------------------------------------------------------


def test_combined_score_is_the_weighted_mean_and_an_error_fails_the_item() -> None:
    good, half, bad = Score(1.0, True, "ok"), Score(0.5, True, "half"), Score(0.0, False, "no")
    assert combine([(good, 3.0), (bad, 1.0)], 0.5).score == pytest.approx(0.75)
    assert combine([(good, 3.0), (bad, 1.0)], 0.5).passed
    assert combine([(good, 3.0), (bad, 1.0)], 0.8).passed is False
    assert combine([(good, 3.0), (bad, 1.0)]).passed is False  # no threshold: every evaluator must pass
    assert combine([(good, 1.0), (half, 1.0), (bad, 0.0)]).passed  # weight 0 counts for nothing
    assert combine([(good, 1.0), (Score.failed("judge down"), 1.0)], 0.1).passed is False
    assert combine([(good, 0.0)], 0.5).error


# --- custom code in the real sandbox ------------------------------------------------------------------------


def _code(body: str) -> dict[str, Any]:
    return {"code": f"def evaluate(inputs, output, expected):\n    {body}\n"}


@pytest.mark.parametrize(("body", "output", "expected_score", "passes", "reason"), [
    ("return output.strip().lower() == expected.lower()", " Paris", 1.0, True, "score 1"),
    ("return len(output) / 10", "Paris", 0.5, True, "score 0.5"),
    ("return {'score': 0.2, 'reason': 'too short'}", "Paris", 0.2, False, "too short"),
    ("return {'passed': True, 'reason': 'looks right'}", "Paris", 1.0, True, "looks right"),
    ("return {'score': 0.1, 'passed': True}", "Paris", 0.1, True, "score 0.1"),
    ("return 1 if inputs['question'] == 'q' else 0", "x", 1.0, True, "score 1"),
])  # fmt: skip
def test_custom_code_scores_in_the_sandbox(
    body: str, output: str, expected_score: float, passes: bool, reason: str
) -> None:
    result = score("code", _code(body), output, "paris")
    assert result.error is None, result
    assert (
        result.score == pytest.approx(expected_score) and result.passed is passes and result.reason == reason
    )


@pytest.mark.parametrize(("body", "error"), [
    ("return 7", "outside [0, 1]"),
    ("return 'good'", "return a bool, a number or a dict"),
    ("return {'reason': 'no score'}", "no score"),
    ("raise ValueError('cannot judge this')", "cannot judge this"),
    ("return open('/etc/passwd').read() != ''", "the evaluator's code failed"),
])  # fmt: skip
def test_custom_code_that_fails_or_answers_nonsense_fails_the_item(body: str, error: str) -> None:
    result = score("code", _code(body), "x", "y")
    assert result.error and error in result.error and not result.passed, result


def test_one_sandbox_can_serve_many_code_evaluations() -> None:
    sandbox = build_sandbox()
    config = validate_config("code", {"code": CODE})
    cases = [EvalCase(inputs={}, output=o, expected="a") for o in ("a", "b")]
    results = [async_to_sync(evaluate)("code", config, c, sandbox=sandbox) for c in cases]
    assert [r.passed for r in results] == [True, False]


# --- the LLM judge ------------------------------------------------------------------------------------------


def _endpoint_sync(workspace: Workspace, slug: str, url: str, **config: Any) -> None:
    publish(
        ModelEndpointFactory.create(
            workspace=workspace, slug=slug, draft=endpoint_config(base_url=url, **config)
        )
    )


async def _endpoint(workspace: Workspace, slug: str, url: str, **config: Any) -> None:
    await sync_to_async(_endpoint_sync)(workspace, slug, url, **config)


async def _judge(workspace: Workspace, case: EvalCase, **config: Any) -> Score:
    normalised = validate_config("llm_judge", {"model": "judge", "rubric": RUBRIC, **config})
    return await evaluate("llm_judge", normalised, case, workspace=workspace, run_id="evaluation-7")


async def _usage(workspace: Workspace) -> list[UsageRecord]:
    return [r async for r in UsageRecord.objects.filter(workspace=workspace).order_by("created_at")]


@pytest.mark.django_db(transaction=True)
async def test_the_judge_grades_through_the_workspace_gateway_metered_as_evaluation(
    workspace: Workspace, openai_test_server: OpenAITestServer
) -> None:
    # given: a judge endpoint that grades 4 of 5
    await _endpoint(workspace, "judge", openai_test_server.url)
    openai_test_server.script(ok(json.dumps({"score": 4, "reason": "names Paris"}), usage=(80, 9)))
    # when
    result = await _judge(workspace, EvalCase(inputs=QUESTION, output="Paris.", expected="Paris"))
    # then: scaled to 0.75, passing the default threshold; asked for a JSON-schema grade
    assert (result.score, result.passed, result.reason, result.error) == (0.75, True, "names Paris", None)
    assert result.details == {"grade": 4, "scale": "1-5"}
    sent = openai_test_server.requests[0].json
    schema = sent["response_format"]["json_schema"]["schema"]
    assert sent["response_format"]["type"] == "json_schema" and schema["required"] == ["score", "reason"]
    assert schema["properties"]["score"] == {"type": "integer", "minimum": 1, "maximum": 5}
    prompt = sent["messages"][0]["content"]
    assert all(part in prompt for part in (RUBRIC, "capital of France", "Reference answer: Paris", "Paris."))
    [record] = await _usage(workspace)
    assert (record.source, record.run_id, record.prompt_tokens) == (
        UsageSource.EVALUATION,
        "evaluation-7",
        80,
    )


@pytest.mark.django_db(transaction=True)
async def test_a_judge_on_the_0_1_scale_with_its_own_prompt(
    workspace: Workspace, openai_test_server: OpenAITestServer
) -> None:
    await _endpoint(workspace, "judge", openai_test_server.url)
    openai_test_server.script(ok('```json\n{"score": 0.4, "reason": "half right"}\n```'))
    prompt = "Q: {{ inputs.question }}\nA: {{ output }}\nExpected: {{ expected }}\n{{ rubric }}"
    case = EvalCase(inputs=QUESTION, output="Lyon or Paris", expected="Paris")
    result = await _judge(workspace, case, scale="0-1", prompt=prompt, threshold=0.5)
    assert result.score == pytest.approx(0.4) and not result.passed and result.reason == "half right"
    sent = openai_test_server.requests[0].json
    assert (
        sent["messages"][0]["content"]
        == f"Q: {QUESTION['question']}\nA: Lyon or Paris\nExpected: Paris\n{RUBRIC}"
    )
    assert sent["response_format"]["json_schema"]["schema"]["properties"]["score"]["type"] == "number"


@pytest.mark.django_db(transaction=True)
async def test_a_judge_answering_garbage_gives_an_error_score_not_a_failed_run(
    workspace: Workspace, openai_test_server: OpenAITestServer
) -> None:
    await _endpoint(workspace, "judge", openai_test_server.url)
    openai_test_server.script(ok("I am not able to grade this answer, sorry."))
    result = await _judge(workspace, EvalCase(inputs=QUESTION, output="Paris", expected="Paris"))
    assert result.error == "judge returned no parsable score: 'I am not able to grade this answer, sorry.'"
    assert not result.passed and result.score == 0.0
    assert len(await _usage(workspace)) == 1  # the call was paid for, and is on the ledger


@pytest.mark.parametrize(("reply", "scale", "expected"), [
    ('{"score": 4, "reason": "ok"}', "1-5", (4.0, "ok")),
    ('Here is my grade:\n```json\n{"score": 5, "reason": "exact"}\n```', "1-5", (5.0, "exact")),
    ('The grade is {"score": 2, "reason": "wrong city"}.', "1-5", (2.0, "wrong city")),
    ('{"score": "3", "reason": "partly"}', "1-5", (3.0, "partly")),
    ('{"score": 4, "reason": "The candidate names Par', "1-5", (4.0, '{"score": 4, "reason": "The candidate names Par')),
    ("Score: 4\nReason: right city", "1-5", (4.0, "Score: 4\nReason: right city")),
    ("I would give it 4/5.", "1-5", (4.0, "I would give it 4/5.")),
    ("5", "1-5", (5.0, "5")),
    ('{"score": 0.85, "reason": "close"}', "0-1", (0.85, "close")),
    ("score = 1", "0-1", (1.0, "score = 1")),
])  # fmt: skip
def test_the_judges_answer_is_read_leniently(reply: str, scale: str, expected: tuple[float, str]) -> None:
    assert parse_judgement(reply, scale) == expected


@pytest.mark.parametrize(("reply", "scale"), [
    ("I cannot grade this.", "1-5"),
    ("", "1-5"),
    ('{"score": 9, "reason": "top 5"}', "1-5"),  # out of scale: the 5 in its reason is not a grade
    ('{"score": "high"}', "1-5"),
    ('{"reason": "grade 5 of 5"}', "1-5"),
    ('{"score": true}', "1-5"),
    ('{"score": 4, "reason": "good"}', "0-1"),
    ("The answer mentions 3 cities.", "1-5"),
])  # fmt: skip
def test_an_answer_without_a_score_on_the_scale_is_not_guessed(reply: str, scale: str) -> None:
    assert parse_judgement(reply, scale) is None


def test_a_model_evaluator_without_a_workspace_or_gateway_says_so() -> None:
    config = validate_config("llm_judge", {"model": "judge", "rubric": RUBRIC})
    result = async_to_sync(evaluate)("llm_judge", config, EvalCase(inputs={}, output="x"))
    assert result.error and "needs the workspace" in result.error


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
async def test_the_real_local_model_judges_a_right_answer_high_and_a_wrong_one_low(
    workspace: Workspace, local_instruct_model_url: str
) -> None:
    from devservices.localmodels.config import INSTRUCT_MODEL

    await _endpoint(
        workspace, "judge", local_instruct_model_url, provider_kind="llamacpp", model=INSTRUCT_MODEL,
        context_window=4096, timeout_seconds=180,
    )  # fmt: skip
    right = EvalCase(inputs=QUESTION, output="The capital of France is Paris.", expected="Paris")
    wrong = EvalCase(inputs=QUESTION, output="The capital of France is Berlin.", expected="Paris")
    good, bad = await _judge(workspace, right), await _judge(workspace, wrong)
    assert good.error is None and good.score >= 0.7 and good.passed, good
    assert bad.error is None and bad.score <= 0.4 and not bad.passed, bad
    records = await _usage(workspace)
    assert len(records) == 2 and {(r.source, r.run_id) for r in records} == {
        (UsageSource.EVALUATION, "evaluation-7")
    }
    assert all(r.prompt_tokens > 0 and r.completion_tokens > 0 for r in records)


# --- embedding similarity -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_embedding_similarity_on_the_real_local_embedding_model(
    workspace: Workspace, local_embedding_model_url: str
) -> None:
    await _endpoint(
        workspace, "minilm", local_embedding_model_url, model="all-minilm-l6-v2", model_type="embedding"
    )
    config = validate_config("embedding_similarity", {"model": "minilm", "threshold": 0.7})
    expected = "Paris is the capital city of France."

    async def similarity(output: str) -> Score:
        case = EvalCase(inputs=QUESTION, output=output, expected=expected)
        return await evaluate(
            "embedding_similarity", config, case, workspace=workspace, run_id="evaluation-8"
        )

    paraphrase = await similarity("The capital of France is Paris.")
    unrelated = await similarity("Bananas are a good source of potassium.")
    assert paraphrase.passed and paraphrase.score >= 0.7, paraphrase
    assert not unrelated.passed and unrelated.score < 0.3, unrelated
    assert unrelated.reason.startswith("cosine similarity ")
    records = await _usage(workspace)
    assert len(records) == 2 and all(r.source == UsageSource.EVALUATION for r in records)
    no_reference = await evaluate(
        "embedding_similarity", config, EvalCase(inputs={}, output="x"), workspace=workspace
    )
    assert no_reference.error == "the item has no expected output to compare with"
