"""A ToolRegistry implementation: built-in tools plus tools generated from an OpenAPI 3 document.

Arguments are validated against each tool's JSON Schema before the tool runs, so a model's malformed call
becomes a ``ToolError`` the agent can show back to the model.
"""

from __future__ import annotations

import ast
import json
import math
import operator
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema

from workflows._errors import ToolError
from workflows._ports import CallContext, HttpClient, HttpRequest, ToolResult, ToolSpec

Handler = Callable[[Mapping[str, Any], CallContext], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Tool:
    """A tool: its spec (what the model sees) and the coroutine that runs it."""

    spec: ToolSpec
    handler: Handler


class DefaultToolRegistry:
    """Tools by name; ``builtins=True`` adds ``calculator`` and ``current_time``."""

    def __init__(self, tools: Iterable[Tool] = (), *, builtins: bool = True) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in [*(builtin_tools() if builtins else []), *tools]:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        """Add or replace a tool."""
        self._tools[tool.spec.name] = tool

    def list_tools(self) -> list[ToolSpec]:
        """Every tool's spec."""
        return [tool.spec for tool in self._tools.values()]

    def get(self, name: str) -> ToolSpec | None:
        """One tool's spec."""
        tool = self._tools.get(name)
        return tool.spec if tool else None

    async def invoke(self, name: str, arguments: Mapping[str, Any], context: CallContext) -> ToolResult:
        """Validate the arguments, run the tool, wrap its result."""
        tool = self._tools.get(name)
        if tool is None:
            raise ToolError(f"unknown tool {name!r}")
        try:
            jsonschema.validate(dict(arguments), tool.spec.parameters)
        except jsonschema.ValidationError as exc:
            raise ToolError(f"invalid arguments for {name!r}: {exc.message}") from None
        data = await tool.handler(arguments, context)
        if isinstance(data, ToolResult):
            return data
        return ToolResult(
            data, data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, default=str)
        )


# --- built-ins ------------------------------------------------------------------------------------------

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


async def _current_time(arguments: Mapping[str, Any], context: CallContext) -> Any:
    name = str(arguments.get("timezone") or "UTC")
    try:
        zone = ZoneInfo(name) if name != "UTC" else UTC
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(f"unknown time zone {name!r}") from None
    return {"time": datetime.now(zone).isoformat(), "timezone": name}


def builtin_tools() -> list[Tool]:
    """The tools every registry starts with."""
    return [
        Tool(
            ToolSpec(
                "calculator",
                "Evaluate an arithmetic expression, e.g. '(2 + 3) * sqrt(16)'.",
                {
                    "type": "object",
                    "properties": {"expression": {"type": "string"}},
                    "required": ["expression"],
                    "additionalProperties": False,
                },
            ),
            _calculator,
        ),
        Tool(
            ToolSpec(
                "current_time",
                "The current date and time in a time zone (IANA name, default UTC).",
                {
                    "type": "object",
                    "properties": {"timezone": {"type": "string"}},
                    "additionalProperties": False,
                },
            ),
            _current_time,
        ),
    ]


# --- OpenAPI --------------------------------------------------------------------------------------------

_METHODS = ("get", "post", "put", "patch", "delete")


def openapi_tools(
    document: Mapping[str, Any],
    *,
    http: HttpClient,
    base_url: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> list[Tool]:
    """One tool per operation of an OpenAPI 3 document, calling it through ``http`` (SSRF-guarded by default).

    Path, query and header parameters become arguments; a JSON request body becomes the ``body`` argument.
    """
    servers = document.get("servers") or [{}]
    root = (base_url or servers[0].get("url") or "").rstrip("/")
    if not root:
        raise ValueError("the OpenAPI document has no servers; pass base_url")
    tools = []
    for path, item in (document.get("paths") or {}).items():
        for method in _METHODS:
            if method in item:
                tools.append(
                    _operation_tool(document, root, path, method, item[method], http, dict(headers or {}))
                )
    return tools


def _operation_tool(
    document: Mapping[str, Any],
    root: str,
    path: str,
    method: str,
    op: Mapping[str, Any],
    http: HttpClient,
    headers: dict[str, str],
) -> Tool:
    name = re.sub(r"[^A-Za-z0-9_]", "_", op.get("operationId") or f"{method}_{path}").strip("_")[:64]
    params = [_deref(document, p) for p in op.get("parameters", [])]
    properties = {p["name"]: _deref(document, p.get("schema", {"type": "string"})) for p in params}
    required = [p["name"] for p in params if p.get("required") or p.get("in") == "path"]
    body = (((op.get("requestBody") or {}).get("content") or {}).get("application/json") or {}).get("schema")
    if body is not None:
        properties["body"] = _deref(document, body)
        if (op.get("requestBody") or {}).get("required"):
            required.append("body")
    spec = ToolSpec(
        name,
        op.get("summary") or op.get("description") or f"{method.upper()} {path}",
        {"type": "object", "properties": properties, "required": required},
    )
    return Tool(spec, _OperationCall(root, path, method, params, http, headers))


class _OperationCall:
    def __init__(
        self,
        root: str,
        path: str,
        method: str,
        params: list[dict[str, Any]],
        http: HttpClient,
        headers: dict[str, str],
    ) -> None:
        self.root, self.path, self.method, self.params, self.http, self.headers = (
            root,
            path,
            method,
            params,
            http,
            headers,
        )

    async def __call__(self, arguments: Mapping[str, Any], context: CallContext) -> Any:
        path, query, headers = self.path, {}, dict(self.headers)
        for p in self.params:
            if p["name"] not in arguments:
                continue
            value = arguments[p["name"]]
            if p.get("in") == "path":
                path = path.replace("{" + p["name"] + "}", quote(str(value), safe=""))
            elif p.get("in") == "header":
                headers[p["name"]] = str(value)
            else:
                query[p["name"]] = value if isinstance(value, str) else json.dumps(value)
        content = None
        if "body" in arguments:
            content = json.dumps(arguments["body"]).encode()
            headers["content-type"] = "application/json"
        request = HttpRequest(self.method.upper(), self.root + path, headers, query, content)
        response = await self.http.request(request)
        if response.status_code >= 400:
            raise ToolError(
                f"{self.method.upper()} {path} returned {response.status_code}: {response.text[:300]}"
            )
        try:
            return json.loads(response.content) if response.content else None
        except json.JSONDecodeError:
            return response.text


def _deref(document: Mapping[str, Any], value: Any, depth: int = 0) -> Any:
    """Inline local ``$ref``s (``#/components/...``), to a bounded depth (recursive schemas stay refs)."""
    if depth > 8:
        return value
    if isinstance(value, dict):
        if isinstance(value.get("$ref"), str) and value["$ref"].startswith("#/"):
            target: Any = document
            for part in value["$ref"][2:].split("/"):
                target = target.get(part, {}) if isinstance(target, Mapping) else {}
            return _deref(document, target, depth + 1)
        return {k: _deref(document, v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_deref(document, v, depth + 1) for v in value]
    return value
