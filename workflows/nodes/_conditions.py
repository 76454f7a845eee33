"""Conditions shared by if_else, loop (break conditions) and list_operator (filters)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import Field

from workflows._errors import NodeError
from workflows._variables import render
from workflows.nodes._base import NodeConfig, Selector, Template, TemplateStr

Operator = Literal[
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "is",
    "is_not",
    "eq",
    "ne",
    "gt",
    "lt",
    "ge",
    "le",
    "empty",
    "not_empty",
    "in",
    "not_in",
    "is_null",
    "is_not_null",
    "is_true",
    "is_false",
    "=",
    "==",
    "!=",
    "≠",
    ">",
    "<",
    ">=",
    "<=",
    "≥",
    "≤",
]
ALIASES = {
    "=": "eq",
    "==": "eq",
    "!=": "ne",
    "≠": "ne",
    ">": "gt",
    "<": "lt",
    ">=": "ge",
    "≥": "ge",
    "<=": "le",
    "≤": "le",
}
ConditionValue = Template | bool | int | float | list[Any] | None


class Condition(NodeConfig):
    """``<selector> <operator> <value>``; a string value is a template rendered against the pool."""

    selector: Selector
    operator: Operator
    value: ConditionValue = None


class ItemCondition(NodeConfig):
    """A filter on list items: ``key`` picks a field of dict items (empty compares the item itself)."""

    key: str = ""
    operator: Operator
    value: ConditionValue = None


class ConditionGroup(NodeConfig):
    """Conditions joined by ``and`` or ``or``."""

    logical_operator: Literal["and", "or"] = "and"
    conditions: list[Condition] = Field(min_length=1)


def expected_value(value: Any, pool: Mapping[str, Any]) -> Any:
    """The comparison operand, rendered when it is a template."""
    return render(value, pool) if isinstance(value, TemplateStr) else value


def group_holds(group: ConditionGroup, pool: Mapping[str, Any]) -> bool:
    """Evaluate a group against the pool (short-circuits like Python's and/or)."""
    from workflows._variables import resolve

    results = (
        compare(c.operator, resolve(pool, c.selector), expected_value(c.value, pool))
        for c in group.conditions
    )
    return all(results) if group.logical_operator == "and" else any(results)


def compare(operator: str, actual: Any, expected: Any) -> bool:
    """Apply one operator."""
    operator = ALIASES.get(operator, operator)
    return _OPERATORS[operator](actual, expected)


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise NodeError(f"cannot compare {value!r} as a number") from None


def _numeric(test: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    def apply(actual: Any, expected: Any) -> bool:
        a, b = _number(actual), _number(expected)
        return a is not None and b is not None and test(a, b)

    return apply


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, int | float) and not isinstance(actual, bool) and isinstance(expected, str):
        number = _number(expected)
        return number is not None and float(actual) == number
    if isinstance(actual, bool) and isinstance(expected, str):
        return str(actual).lower() == expected.lower()
    return bool(actual == expected)


def _contains(actual: Any, expected: Any) -> bool:
    if actual is None:
        return False
    if isinstance(actual, str):
        return str(expected) in actual
    return expected in actual if isinstance(actual, list | tuple | dict | set) else False


def _is_empty(actual: Any, _: Any) -> bool:
    return actual is None or (hasattr(actual, "__len__") and len(actual) == 0)


def _member(actual: Any, expected: Any) -> bool:
    if isinstance(expected, str):
        expected = [part.strip() for part in expected.split(",")]
    return actual in (expected or [])


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "contains": _contains,
    "not_contains": lambda a, e: not _contains(a, e),
    "starts_with": lambda a, e: isinstance(a, str) and a.startswith(str(e)),
    "ends_with": lambda a, e: isinstance(a, str) and a.endswith(str(e)),
    "is": _equal,
    "is_not": lambda a, e: not _equal(a, e),
    "eq": _equal,
    "ne": lambda a, e: not _equal(a, e),
    "gt": _numeric(lambda a, b: a > b),
    "lt": _numeric(lambda a, b: a < b),
    "ge": _numeric(lambda a, b: a >= b),
    "le": _numeric(lambda a, b: a <= b),
    "empty": _is_empty,
    "not_empty": lambda a, e: not _is_empty(a, e),
    "in": _member,
    "not_in": lambda a, e: not _member(a, e),
    "is_null": lambda a, _: a is None,
    "is_not_null": lambda a, _: a is not None,
    "is_true": lambda a, _: a is True or (isinstance(a, str) and a.lower() == "true"),
    "is_false": lambda a, _: a is False or (isinstance(a, str) and a.lower() == "false"),
}
