"""A ToolRegistry implementation: built-in tools plus tools generated from an OpenAPI 3 document.

Arguments are validated against each tool's JSON Schema before the tool runs, and each call is held to its
spec's ``timeout_seconds`` and ``max_output_chars``, so a model's malformed call, a slow service or a huge
answer becomes a ``ToolError`` the agent can show back to the model, never a hang.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, cast
from urllib.parse import quote

import jsonschema

from workflows._errors import ToolError
from workflows._ports import CallContext, HttpClient, HttpRequest, ToolResult, ToolSpec
from workflows.tools import Tool, builtin_tools, evaluate_arithmetic, unknown_tool_error

__all__ = ["DefaultToolRegistry", "Tool", "builtin_tools", "evaluate_arithmetic", "openapi_tools"]


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
            raise unknown_tool_error(name)
        try:
            jsonschema.validate(dict(arguments), tool.spec.parameters)
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path)
            raise ToolError(
                f"invalid arguments for {name!r}: {where + ': ' if where else ''}{exc.message}"
            ) from None
        result = _as_result(await _bounded(tool, arguments, context))
        try:
            result = ToolResult(_finite(result.data), result.text)
        except RecursionError:
            raise ToolError(f"the answer of {name!r} is nested too deeply") from None
        return _limited(name, result, tool.spec.max_output_chars)


async def _bounded(tool: Tool, arguments: Mapping[str, Any], context: CallContext) -> Any:
    name, timeout = tool.spec.name, tool.spec.timeout_seconds
    try:
        return await asyncio.wait_for(tool.handler(arguments, context), timeout)
    except TimeoutError:
        raise ToolError(f"tool {name!r} timed out after {timeout:g} s") from None
    except ToolError:
        raise
    except Exception as exc:  # a tool's bug or an adapter's error is the agent's observation, not a crash
        raise ToolError(f"tool {name!r} failed: {type(exc).__name__}: {exc}") from None


def _finite(data: Any) -> Any:
    """``data`` with NaN and infinities (which JSON, and so a run's stored outputs, cannot hold) as None."""
    if isinstance(data, float) and not math.isfinite(data):
        return None
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(value) for value in data]
    return data


def _as_result(data: Any) -> ToolResult:
    if isinstance(data, ToolResult):
        return data
    return ToolResult(
        data, data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, default=str)
    )


def _limited(name: str, result: ToolResult, limit: int) -> ToolResult:
    """Text output over ``limit`` is cut with a visible note; structured output that long is refused (a cut
    JSON document would be wrong, not shorter)."""
    size = len(result.text)
    if size <= limit:
        return result
    if isinstance(result.data, str):
        text = result.data[:limit] + f"\n\n[... cut: output of {name!r} over {limit} characters]"
        return ToolResult(text, text)
    raise ToolError(f"tool {name!r} returned {size} characters, over its limit of {limit}")


# --- OpenAPI --------------------------------------------------------------------------------------------

_METHODS = ("get", "post", "put", "patch", "delete")


def openapi_tools(
    document: Mapping[str, Any],
    *,
    http: HttpClient,
    base_url: str | None = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
) -> list[Tool]:
    """One tool per operation of an OpenAPI 3 document, calling it through ``http`` (SSRF-guarded by default).

    Path, query and header parameters become arguments; a JSON request body becomes the ``body`` argument.
    ``headers`` and ``query`` are sent with every call (e.g. an API key in a header or in the query).
    """
    servers = document.get("servers") or [{}]
    root = (base_url or servers[0].get("url") or "").rstrip("/")
    if not root:
        raise ValueError("the OpenAPI document has no servers; pass base_url")
    tools = []
    for path, item in (document.get("paths") or {}).items():
        for method in _METHODS:
            if method in item:
                tool = _operation_tool(document, root, path, method, item[method], http, dict(headers or {}))
                if query:
                    cast(_OperationCall, tool.handler).query = dict(query)
                tools.append(tool)
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
    budget = [DEREF_BUDGET]  # one operation's inlined schema is bounded, however its refs fan out
    params = [_deref(document, p, budget=budget) for p in op.get("parameters", [])]
    properties = {
        p["name"]: _deref(document, p.get("schema", {"type": "string"}), budget=budget) for p in params
    }
    required = [p["name"] for p in params if p.get("required") or p.get("in") == "path"]
    body = (((op.get("requestBody") or {}).get("content") or {}).get("application/json") or {}).get("schema")
    if body is not None:
        properties["body"] = _deref(document, body, budget=budget)
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
        self.query: dict[str, str] = {}

    async def __call__(self, arguments: Mapping[str, Any], context: CallContext) -> Any:
        path, query, headers = self.path, dict(self.query), dict(self.headers)
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
        # No redirects: a hop to another origin would carry the provider's API-key header there (httpx drops
        # only Authorization across origins); a 3xx is the tool's answer.
        request = HttpRequest(
            self.method.upper(), self.root + path, headers, query, content, follow_redirects=False
        )
        response = await self.http.request(request)
        if 300 <= response.status_code < 400:
            where = str(response.headers.get("location") or "")[:200]
            raise ToolError(
                f"{self.method.upper()} {path} redirected to {where!r}: redirects are not followed"
            )
        if response.status_code >= 400:
            raise ToolError(
                f"{self.method.upper()} {path} returned {response.status_code}: {response.text[:300]}"
            )
        try:
            return json.loads(response.content) if response.content else None
        except json.JSONDecodeError:
            return response.text


# Schema nodes one operation's inlined parameters and body may hold: refs that fan out (A's 300 properties
# each B, B's each C...) would otherwise multiply a small document into gigabytes.
DEREF_BUDGET = 20_000


def _deref(
    document: Mapping[str, Any], value: Any, depth: int = 0, *, budget: list[int] | None = None
) -> Any:
    """Inline local ``$ref``s (``#/components/...``), to a bounded depth (recursive schemas stay refs) and,
    with ``budget``, a bounded size (past it a schema is left open: ``{}``)."""
    if budget is not None:
        budget[0] -= 1
        if budget[0] < 0:
            return {}
    if depth > 8:
        return value
    if isinstance(value, dict):
        if isinstance(value.get("$ref"), str) and value["$ref"].startswith("#/"):
            target: Any = document
            for part in value["$ref"][2:].split("/"):
                target = target.get(part, {}) if isinstance(target, Mapping) else {}
            return _deref(document, target, depth + 1, budget=budget)
        return {k: _deref(document, v, depth + 1, budget=budget) for k, v in value.items()}
    if isinstance(value, list):
        return [_deref(document, v, depth + 1, budget=budget) for v in value]
    return value
