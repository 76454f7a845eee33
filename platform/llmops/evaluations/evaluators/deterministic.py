"""Deterministic and operational evaluators: pure functions of the case and the evaluator's config.

``CHECKS[kind](config)`` validates a config (raising ``ConfigProblem`` naming the field) and returns it
normalised; ``SCORERS[kind](config, case)`` scores one case, synchronously (an evaluation run calls them
without an event loop). The ``negate`` flag turns a check into its ``not`` form (the score becomes
``1 - score``). Comparisons use ``value`` (``values`` for contains_any/all) or, when that is left out, the
item's ``expected``; with neither the item's score is an error, never a silent pass. Regular expressions run
on the ``regex`` engine with a time limit, so a pattern with catastrophic backtracking fails that one item
instead of hanging a worker.

Operational ceilings (``latency_ms_max``, ``cost_max``, ``tokens_max``, each ``{"max": N}``) read the
target's figures; ``latency``, ``cost`` and ``tokens`` are older names of the same kinds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import jsonschema
import regex
from rapidfuzz.distance import Levenshtein

from llmops.evaluations.evaluators.base import ConfigProblem, EvalCase, Score, as_text

MAX_PATTERN_CHARS = 2_000
MAX_TEXT_CHARS = 200_000  # what a text comparison looks at; longer outputs are cut (and it says so)
REGEX_TIMEOUT_S = 0.5


def _bool(config: dict[str, Any], name: str, default: bool = False) -> bool:
    value = config.get(name, default)
    if not isinstance(value, bool):
        raise ConfigProblem(name, "Must be true or false.")
    return value


def _number(
    config: dict[str, Any], name: str, default: float | None, low: float, high: float
) -> float | None:
    value = config.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigProblem(name, "Must be a number.")
    if not low <= value <= high:
        raise ConfigProblem(name, f"Must be between {low:g} and {high:g}.")
    return float(value)


def _optional_text(config: dict[str, Any], name: str) -> str | None:
    value = config.get(name)
    if value is not None and not isinstance(value, str):
        raise ConfigProblem(name, "Must be a string.")
    return value


def _common(config: dict[str, Any]) -> dict[str, Any]:
    return {"negate": _bool(config, "negate"), "case_sensitive": _bool(config, "case_sensitive")}


def _text_value(config: dict[str, Any]) -> dict[str, Any]:
    return {**_common(config), "value": _optional_text(config, "value")}


def _strings(config: dict[str, Any]) -> dict[str, Any]:
    values = config.get("values")
    if values is not None and (
        not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values)
    ):
        raise ConfigProblem("values", "Must be a non-empty list of strings.")
    return {**_common(config), "values": values}


def _regex(config: dict[str, Any]) -> dict[str, Any]:
    pattern = config.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise ConfigProblem("pattern", "A regular expression is required.")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ConfigProblem("pattern", f"At most {MAX_PATTERN_CHARS} characters.")
    try:
        regex.compile(pattern)
    except regex.error as exc:
        raise ConfigProblem("pattern", f"Does not compile: {exc}.") from None
    return {**_common(config), "pattern": pattern}


def _json_schema(config: dict[str, Any]) -> dict[str, Any]:
    schema = config.get("schema")
    if not isinstance(schema, dict):
        raise ConfigProblem("schema", "A JSON Schema object is required.")
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ConfigProblem("schema", f"Not a valid JSON Schema: {exc.message}.") from None
    return {"negate": _bool(config, "negate"), "schema": schema}


def _levenshtein(config: dict[str, Any]) -> dict[str, Any]:
    return {**_text_value(config), "threshold": _number(config, "threshold", 0.8, 0.0, 1.0)}


def _numeric(config: dict[str, Any]) -> dict[str, Any]:
    value = config.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ConfigProblem("value", "Must be a number.")
    return {
        "negate": _bool(config, "negate"),
        "value": value,
        "tolerance": _number(config, "tolerance", 0.0, 0.0, math.inf),
        "relative": _bool(config, "relative"),
    }


def _ceiling(config: dict[str, Any]) -> dict[str, Any]:
    if config.get("max") is None:
        raise ConfigProblem("max", "A ceiling is required.")
    return {"max": _number(config, "max", None, 0.0, math.inf)}


TOKEN_COUNTS = ("total", "prompt", "completion")


def _tokens_ceiling(config: dict[str, Any]) -> dict[str, Any]:
    count = config.get("count", "total")
    if count not in TOKEN_COUNTS:
        raise ConfigProblem("count", f"One of {', '.join(TOKEN_COUNTS)}.")
    return {**_ceiling(config), "count": count}


CHECKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "equals": _text_value,
    "contains": _text_value,
    "starts_with": _text_value,
    "contains_any": _strings,
    "contains_all": _strings,
    "regex": _regex,
    "json_valid": lambda config: {"negate": _bool(config, "negate")},
    "json_schema": _json_schema,
    "levenshtein": _levenshtein,
    "numeric": _numeric,
    "latency_ms_max": _ceiling,
    "cost_max": _ceiling,
    "tokens_max": _tokens_ceiling,
}
ALIASES = {"latency": "latency_ms_max", "cost": "cost_max", "tokens": "tokens_max"}  # older names, still read
CHECKS.update({old: CHECKS[new] for old, new in ALIASES.items()})


# --- scoring ----------------------------------------------------------------------------------------------


def _folded(text: str, config: dict[str, Any]) -> str:
    text = text[:MAX_TEXT_CHARS].strip()
    return text if config.get("case_sensitive") else text.casefold()


def _verdict(ok: bool, config: dict[str, Any], reason: str, score: float | None = None) -> Score:
    value = (1.0 if ok else 0.0) if score is None else score
    if config.get("negate"):
        return Score(score=1.0 - value, passed=not ok, reason=f"not: {reason}")
    return Score(score=value, passed=ok, reason=reason)


NO_REFERENCE = "nothing to compare with: the evaluator has no value and the item no expected output"


def _reference(config: dict[str, Any], case: EvalCase) -> str | None:
    value = config.get("value")
    if value is not None:
        return str(value)
    return None if case.expected is None else case.expected_text


def _equals(config: dict[str, Any], case: EvalCase) -> Score:
    want = _reference(config, case)
    if want is None:
        return Score.failed(NO_REFERENCE)
    ok = _folded(case.output_text, config) == _folded(want, config)
    return _verdict(ok, config, "equal" if ok else f"output differs from {want[:80]!r}")


def _contains(config: dict[str, Any], case: EvalCase) -> Score:
    want = _reference(config, case)
    if want is None:
        return Score.failed(NO_REFERENCE)
    ok = _folded(want, config) in _folded(case.output_text, config)
    return _verdict(ok, config, f"{'contains' if ok else 'does not contain'} {want[:80]!r}")


def _starts_with(config: dict[str, Any], case: EvalCase) -> Score:
    want = _reference(config, case)
    if want is None:
        return Score.failed(NO_REFERENCE)
    ok = _folded(case.output_text, config).startswith(_folded(want, config))
    return _verdict(ok, config, f"{'starts' if ok else 'does not start'} with {want[:80]!r}")


def _wanted(config: dict[str, Any], case: EvalCase) -> list[str]:
    values = config.get("values")
    if values is not None:
        return list(values)
    expected = case.expected
    if expected is None:
        return []
    return [as_text(v) for v in expected] if isinstance(expected, list) else [case.expected_text]


def _contains_some(config: dict[str, Any], case: EvalCase, every: bool) -> Score:
    text = _folded(case.output_text, config)
    wanted = _wanted(config, case)
    if not wanted:
        return Score.failed(NO_REFERENCE)
    found = [w for w in wanted if _folded(w, config) in text]
    ok = len(found) == len(wanted) if every else bool(found)
    missing = [w for w in wanted if w not in found]
    reason = f"found {len(found)} of {len(wanted)}" + (f"; missing {missing[:5]}" if missing else "")
    return _verdict(ok, config, reason, len(found) / len(wanted) if every and wanted else None)


def _regex_score(config: dict[str, Any], case: EvalCase) -> Score:
    flags = 0 if config.get("case_sensitive") else regex.IGNORECASE
    try:
        match = regex.search(
            config["pattern"], case.output_text[:MAX_TEXT_CHARS], flags, timeout=REGEX_TIMEOUT_S
        )
    except TimeoutError:
        return Score.failed(
            f"the pattern took over {REGEX_TIMEOUT_S} s on this output (catastrophic backtracking)"
        )
    return _verdict(match is not None, config, "matches" if match else "no match")


def _parsed(case: EvalCase) -> tuple[bool, Any]:
    if not isinstance(case.output, str):
        return True, case.output
    try:
        return True, json.loads(case.output)
    except ValueError:
        return False, None


def _json_valid(config: dict[str, Any], case: EvalCase) -> Score:
    ok, _ = _parsed(case)
    return _verdict(ok, config, "valid JSON" if ok else "not valid JSON")


def _json_schema_score(config: dict[str, Any], case: EvalCase) -> Score:
    ok, value = _parsed(case)
    if not ok:
        return _verdict(False, config, "not valid JSON")
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(config["schema"]).iter_errors(value)
    )
    reason = (
        "matches the schema"
        if error is None
        else f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
    )
    return _verdict(error is None, config, reason[:300])


def _levenshtein_score(config: dict[str, Any], case: EvalCase) -> Score:
    reference = _reference(config, case)
    if reference is None:
        return Score.failed(NO_REFERENCE)
    want = _folded(reference, config)
    similarity = Levenshtein.normalized_similarity(_folded(case.output_text, config), want)
    ok = similarity >= config["threshold"]
    return _verdict(
        ok, config, f"similarity {similarity:.3f} (threshold {config['threshold']:g})", similarity
    )


def _number_of(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(as_text(value)).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _numeric_score(config: dict[str, Any], case: EvalCase) -> Score:
    reference = config["value"] if config.get("value") is not None else case.expected
    if reference is None:
        return Score.failed(NO_REFERENCE)
    got, want = _number_of(case.output), _number_of(reference)
    if got is None or want is None:
        return _verdict(
            False, config, f"not a number: {as_text(case.output if got is None else case.expected)[:60]!r}"
        )
    tolerance = Decimal(str(config["tolerance"]))
    allowed = tolerance * abs(want) if config.get("relative") else tolerance
    ok = abs(got - want) <= allowed
    return _verdict(ok, config, f"{got} vs {want} (tolerance {allowed})")


def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f")


def _ceiling_score(
    what: str, unit: str, figure: Callable[[dict[str, Any], EvalCase], Decimal | float | None]
) -> Callable[[dict[str, Any], EvalCase], Score]:
    def score(config: dict[str, Any], case: EvalCase) -> Score:
        value = figure(config, case)
        if value is None:
            return Score.failed(f"the target reported no {what}")
        # Decimal on both sides: a cost of 0.1 + 0.2 must not exceed a ceiling of 0.3 by float rounding.
        got, ceiling = Decimal(str(value)), Decimal(str(config["max"]))
        ok = got <= ceiling
        reason = (
            f"{what} {_plain(got)}{unit} ({'within' if ok else 'over'} the maximum {_plain(ceiling)}{unit})"
        )
        return Score(score=1.0 if ok else 0.0, passed=ok, reason=reason)

    return score


def _tokens(config: dict[str, Any], case: EvalCase) -> int:
    count = config.get("count", "total")
    if count == "prompt":
        return case.prompt_tokens
    return case.completion_tokens if count == "completion" else case.total_tokens


SCORERS: dict[str, Callable[[dict[str, Any], EvalCase], Score]] = {
    "equals": _equals,
    "contains": _contains,
    "starts_with": _starts_with,
    "contains_any": lambda config, case: _contains_some(config, case, every=False),
    "contains_all": lambda config, case: _contains_some(config, case, every=True),
    "regex": _regex_score,
    "json_valid": _json_valid,
    "json_schema": _json_schema_score,
    "levenshtein": _levenshtein_score,
    "numeric": _numeric_score,
    "latency_ms_max": _ceiling_score("latency", " ms", lambda config, case: case.latency_ms),
    "cost_max": _ceiling_score("cost", "", lambda config, case: case.cost),
    "tokens_max": _ceiling_score("tokens", "", _tokens),
}
SCORERS.update({old: SCORERS[new] for old, new in ALIASES.items()})
