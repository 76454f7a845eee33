"""Arithmetic: the ``calculator`` tool and ``evaluate_arithmetic``, safe against CPU and memory bombs."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from workflows._errors import ToolError
from workflows._ports import CallContext, ToolSpec
from workflows.tools._base import Tool, schema

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
# Integers are exact and unbounded in Python, so every result is held to this many bits (about 1,200 digits):
# a power is checked *before* it is computed, since its size grows with the base as much as with the exponent
# (``((9**999)**999)**999`` has small exponents); other operations at most double the size, checked after.
_MAX_BITS = 4096
_MAX_EXPRESSION = 2000
_MAX_ROUND_DIGITS = 400


def _power(base: Any, exponent: Any) -> Any:
    if abs(exponent) > 1000:
        raise ValueError("exponent too large")
    growing = isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1 and exponent > 0
    if growing and base.bit_length() * exponent > _MAX_BITS:
        raise ValueError(f"result too large (over {_MAX_BITS} bits)")
    return operator.pow(base, exponent)


def _round(value: Any, digits: Any = None) -> Any:
    # round(x, -n) computes 10**n first: a huge n is a CPU bomb on its own.
    if digits is not None and abs(digits) > _MAX_ROUND_DIGITS:
        raise ValueError(f"round() takes at most {_MAX_ROUND_DIGITS} digits")
    return round(value, digits)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt,
    "abs": abs,
    "round": _round,
    "min": min,
    "max": max,
    "log": math.log,
    "exp": math.exp,
}


def evaluate_arithmetic(expression: str) -> float | int:
    """Evaluate arithmetic safely: numbers, + - * / // % **, parentheses and a few math functions.

    Bounded in time and memory: the expression's length, every integer's size and ``round``'s digits are
    capped, so no input keeps the caller's event loop busy.
    """
    try:
        if len(expression) > _MAX_EXPRESSION:
            raise ValueError(f"expression longer than {_MAX_EXPRESSION} characters")
        value: float | int = _eval(ast.parse(expression, mode="eval").body)
    except (SyntaxError, ZeroDivisionError, OverflowError, ValueError, TypeError, RecursionError) as exc:
        raise ToolError(f"cannot evaluate {expression[:200]!r}: {exc}") from None
    return value


def _eval(node: ast.expr) -> Any:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return _sized(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        return _sized(_power(_eval(node.left), _eval(node.right)))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _sized(_BINARY[type(node.op)](_eval(node.left), _eval(node.right)))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _eval(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        return _sized(_FUNCTIONS[node.func.id](*(_eval(arg) for arg in node.args)))
    raise ValueError(f"unsupported expression element {type(node).__name__}")


def _sized(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > _MAX_BITS:
        raise ValueError(f"result too large (over {_MAX_BITS} bits)")
    return value


async def _calculator(arguments: Mapping[str, Any], context: CallContext) -> Any:
    return {"result": evaluate_arithmetic(str(arguments["expression"]))}


CALCULATOR = ToolSpec(
    "calculator",
    "Evaluate an arithmetic expression exactly, e.g. '(2 + 3) * sqrt(16)'. Supports + - * / // % **, "
    "parentheses and sqrt, abs, round, min, max, log, exp. Use it instead of doing arithmetic in your head.",
    schema(
        {"expression": {"type": "string", "description": "The expression, e.g. '17 * 23'"}}, ("expression",)
    ),
    timeout_seconds=5.0,
    max_output_chars=5_000,
)


def tools() -> list[Tool]:
    """The calculator."""
    return [Tool(CALCULATOR, _calculator)]
