"""Evaluators: every deterministic and operational kind (pass, fail, ``not``), config errors naming the
field, custom code in the real sandbox, and the guard against catastrophic regular expressions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from llmops.core.errors import ValidationError
from llmops.evaluations.evaluators import EvalCase, Score, combine, evaluate, validate_config
from llmops.runs.ports import build_sandbox


def score(kind: str, config: dict[str, Any], output: Any, expected: Any = None, **figures: Any) -> Score:
    case = EvalCase(inputs={"question": "q"}, output=output, expected=expected, **figures)
    return async_to_sync(evaluate)(kind, validate_config(kind, config), case, sandbox=build_sandbox())


@pytest.mark.parametrize(("kind", "config", "output", "expected", "passes"), [
    ("equals", {}, " Paris ", "paris", True),
    ("equals", {"case_sensitive": True}, "paris", "Paris", False),
    ("equals", {"value": "巴黎"}, "巴黎", None, True),
    ("contains", {"value": "Paris"}, "The capital is Paris.", None, True),
    ("contains", {}, "首都是柏林", "巴黎", False),
    ("contains_any", {"values": ["Paris", "巴黎"]}, "首都是巴黎", None, True),
    ("contains_all", {"values": ["Paris", "France"]}, "Paris", None, False),
    ("contains_all", {}, "red green blue", ["red", "blue"], True),
    ("starts_with", {"value": "Answer:"}, "answer: 42", None, True),
    ("regex", {"pattern": r"\b\d{4}-\d{2}-\d{2}\b"}, "due 2026-12-04", None, True),
    ("regex", {"pattern": r"^\d+$"}, "forty-two", None, False),
    ("json_valid", {}, '{"a": 1}', None, True),
    ("json_valid", {}, "{a: 1}", None, False),
    ("json_schema", {"schema": {"type": "object", "required": ["name"]}}, '{"name": "x"}', None, True),
    ("json_schema", {"schema": {"type": "object", "required": ["name"]}}, '{"nom": "x"}', None, False),
    ("levenshtein", {"threshold": 0.8}, "kitten", "kittens", True),
    ("levenshtein", {"threshold": 0.8}, "kitten", "sitting", False),
    ("numeric", {"tolerance": 0.01}, "3.14159", "3.14", True),
    ("numeric", {"tolerance": 0.1, "relative": True}, "120", "100", False),
    ("numeric", {}, "not a number", "1", False),
])  # fmt: skip
def test_deterministic_evaluators_pass_and_fail(
    kind: str, config: dict[str, Any], output: Any, expected: Any, passes: bool
) -> None:
    result = score(kind, config, output, expected)
    assert result.passed is passes, result
    assert result.error is None and 0.0 <= result.score <= 1.0 and result.reason
    negated = score(kind, {**config, "negate": True}, output, expected)
    assert negated.passed is (not passes) and negated.reason.startswith("not: ")


def test_operational_ceilings_on_latency_cost_and_tokens() -> None:
    figures = {"latency_ms": 850.0, "cost": Decimal("0.002"), "prompt_tokens": 300, "completion_tokens": 50}
    assert score("latency", {"max": 1000}, "x", **figures).passed
    assert not score("latency", {"max": 500}, "x", **figures).passed
    assert score("cost", {"max": 0.01}, "x", **figures).passed
    assert not score("tokens", {"max": 200}, "x", **figures).passed
    assert score("latency", {"max": 1000}, "x").error == "the target reported no ms"


@pytest.mark.parametrize(("kind", "config", "field"), [
    ("regex", {"pattern": "(unclosed"}, "config.pattern"),
    ("regex", {}, "config.pattern"),
    ("json_schema", {"schema": {"type": "no-such-type"}}, "config.schema"),
    ("levenshtein", {"threshold": 1.5}, "config.threshold"),
    ("equals", {"negate": "yes"}, "config.negate"),
    ("latency", {}, "config.max"),
    ("llm_judge", {"model": "judge"}, "config.rubric"),
    ("llm_judge", {"rubric": "correct?"}, "config.model"),
    ("code", {"code": "def evaluate(inputs, output, expected):\n  return ("}, "config.code"),
    ("no_such_kind", {}, "kind"),
])  # fmt: skip
def test_a_bad_config_is_refused_naming_the_field(kind: str, config: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        validate_config(kind, config)
    assert field in refused.value.fields


def test_a_pattern_with_catastrophic_backtracking_fails_the_item_not_the_worker() -> None:
    result = score("regex", {"pattern": r"^(a|aa)+$"}, "a" * 40 + "!")
    assert not result.passed and result.error and "backtracking" in result.error


def test_custom_code_runs_in_the_sandbox() -> None:
    code = (
        "def evaluate(inputs, output, expected):\n"
        "    same = output.strip().lower() == expected.strip().lower()\n"
        "    return {'score': 1.0 if same else 0.0, 'reason': 'same' if same else 'differs'}\n"
    )
    assert score("code", {"code": code}, "Paris", "paris").passed
    assert score("code", {"code": code}, "Lyon", "paris").reason == "differs"
    escape = "def evaluate(inputs, output, expected):\n    return open('/etc/passwd').read() != ''\n"
    refused = score("code", {"code": escape}, "x", "y")
    assert refused.error and not refused.passed  # the sandbox refuses the file; the item says so


def test_combined_score_is_the_weighted_mean_and_an_error_fails_the_item() -> None:
    good, bad = Score(1.0, True, "ok"), Score(0.0, False, "no")
    assert combine([(good, 3.0), (bad, 1.0)], 0.5).score == pytest.approx(0.75)
    assert combine([(good, 3.0), (bad, 1.0)], 0.8).passed is False
    assert combine([(good, 1.0), (Score.failed("judge down"), 1.0)], 0.1).passed is False
    assert combine([(good, 0.0)], 0.5).error
