"""Dify comparison operators and condition lists (if-else cases, loop breaks, list filters) to ours."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmops.studio.dify.context import NodeMapper

# Dify's operator -> ours. "exists"/"not exists" (file checks) are null checks here.
OPERATORS = {
    "contains": "contains",
    "not contains": "not_contains",
    "start with": "starts_with",
    "end with": "ends_with",
    "is": "is",
    "is not": "is_not",
    "empty": "empty",
    "not empty": "not_empty",
    "=": "eq",
    "≠": "ne",
    ">": "gt",
    "<": "lt",
    "≥": "ge",
    "≤": "le",
    "null": "is_null",
    "not null": "is_not_null",
    "in": "in",
    "not in": "not_in",
    "exists": "is_not_null",
    "not exists": "is_null",
}
VALUELESS = frozenset({"empty", "not_empty", "is_null", "is_not_null"})


def condition_value(m: NodeMapper, operator: str, value: Any, what: str) -> Any:
    """The comparison operand: Dify's string values may hold ``{{#...#}}`` references (templates here)."""
    if operator in VALUELESS or value is None:
        return None
    if isinstance(value, str):
        return m.template(value, what)
    if isinstance(value, bool | int | float | list):
        return value
    return str(value)


def conditions(
    m: NodeMapper, items: Any, logical_operator: str, what: str, *, key: bool = False
) -> list[dict[str, Any]]:
    """Convert a Dify condition list; operators with no equivalent fail the node (never silently dropped).

    With ``key`` the conditions are list-operator filters (on ``key`` of each item, not on a selector).
    """
    converted: list[dict[str, Any]] = []
    for index, item in enumerate(items or [], 1):
        where = f"{what} condition {index}"
        if not isinstance(item, Mapping):
            m.fail(f"{where} is not a condition")
            continue
        if item.get("sub_variable_condition"):
            m.fail(f"{where}: conditions on file attributes have no equivalent")
            continue
        operator = str(item.get("comparison_operator") or "")
        value = item.get("value")
        subject = {"key": str(item.get("key") or "")} if key else _subject(m, item, where)
        if operator == "all of" and logical_operator == "and" and isinstance(value, list):
            # "all of [a, b]" inside an AND group is exactly "contains a AND contains b".
            converted += [{**subject, "operator": "contains", "value": str(v)} for v in value]
            continue
        ours = OPERATORS.get(operator)
        if ours is None:
            m.fail(f"{where}: operator {operator!r} has no equivalent")
            continue
        operand = condition_value(m, ours, value, where)
        converted.append({**subject, "operator": ours, **({} if operand is None else {"value": operand})})
    return converted


def _subject(m: NodeMapper, item: Mapping[str, Any], where: str) -> dict[str, Any]:
    return {"selector": m.selector(item.get("variable_selector"), where)}
