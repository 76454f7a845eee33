"""Tools from MCP servers: list a server's tools and call one, over streamable HTTP or SSE (the official ``mcp``
SDK), every request through the SSRF guard of workflow HTTP (``LLMOPS_WORKFLOW_HTTP_ALLOWLIST``).

Each call opens its own session (initialize, then the request, then close): a run's workers share nothing with
a server between calls, so a server that restarted or dropped a session costs nothing. A server that is down,
slow, refuses the URL or answers with an error is a ``ToolError`` naming the server and the reason, within
``timeout`` seconds: a run never hangs on it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Literal

import httpx
from mcp import ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent

from llmops.core.outbound import WORKFLOW_HTTP, GuardedTransport, allowlist
from workflows import BlockedURLError, ToolError, ToolResult, ToolSpec

Transport = Literal["streamable_http", "sse"]
TRANSPORTS: tuple[Transport, ...] = ("streamable_http", "sse")


def _client(headers: Mapping[str, str] | None, timeout: httpx.Timeout | float | None) -> httpx.AsyncClient:
    """An httpx client for one MCP session: guarded, no redirects, no proxy variables."""
    return httpx.AsyncClient(
        transport=GuardedTransport(allow=allowlist(WORKFLOW_HTTP), setting=WORKFLOW_HTTP),
        headers=dict(headers or {}),
        timeout=timeout if timeout is not None else 30.0,
        trust_env=False,
        follow_redirects=False,
    )


@asynccontextmanager
async def _session(
    url: str, transport: str, headers: Mapping[str, str], timeout: float
) -> AsyncIterator[ClientSession]:
    if transport == "sse":

        def factory(
            headers: dict[str, str] | None = None,
            timeout: httpx.Timeout | None = None,
            auth: httpx.Auth | None = None,
        ) -> httpx.AsyncClient:
            return _client(headers, timeout)

        streams = sse_client(
            url,
            headers=dict(headers),
            timeout=timeout,
            sse_read_timeout=timeout,
            httpx_client_factory=factory,
        )
        async with streams as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            yield session
        return
    if transport != "streamable_http":
        raise ToolError(f"unknown MCP transport {transport!r} (use one of {', '.join(TRANSPORTS)})")
    async with (
        _client(headers, timeout) as http,
        streamable_http_client(url, http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def _reason(exc: BaseException) -> str:
    """The innermost meaningful cause of an SDK failure (its task groups wrap errors in ExceptionGroups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, BlockedURLError):
        return str(exc)
    if isinstance(exc, httpx.HTTPStatusError):
        return f"the server answered HTTP {exc.response.status_code}"
    if isinstance(exc, httpx.ConnectError | ConnectionError):
        return "the server cannot be reached"
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return "the server did not answer in time"
    return str(exc) or type(exc).__name__


async def _within(url: str, timeout: float, work: Any) -> Any:
    try:
        return await asyncio.wait_for(work, timeout)
    except TimeoutError:
        raise ToolError(f"MCP server {url}: no answer within {timeout:g} s") from None
    except ToolError:
        raise
    except Exception as exc:  # any SDK or transport failure becomes the tool's clear error
        raise ToolError(f"MCP server {url}: {_reason(exc)}") from None


async def list_mcp_tools(
    *, url: str, transport: str, headers: Mapping[str, str] | None = None, timeout: float = 30.0
) -> list[ToolSpec]:
    """The server's tools as specs (name, description, input JSON Schema)."""

    async def work() -> list[ToolSpec]:
        async with _session(url, transport, headers or {}, timeout) as session:
            specs, cursor = [], None
            while True:
                page = await session.list_tools(cursor=cursor) if cursor else await session.list_tools()
                specs += [
                    ToolSpec(
                        tool.name,
                        tool.description or tool.title or tool.name,
                        dict(tool.inputSchema or {"type": "object", "properties": {}}),
                    )
                    for tool in page.tools
                ]
                cursor = page.nextCursor
                if not cursor or len(specs) > 1000:
                    return specs

    result: list[ToolSpec] = await _within(url, timeout, work())
    return result


async def call_mcp_tool(
    *,
    url: str,
    transport: str,
    headers: Mapping[str, str] | None = None,
    name: str,
    arguments: Mapping[str, Any],
    timeout: float = 30.0,
) -> ToolResult:
    """Call one tool; its text content (or structured content) is the result. A tool error is a ToolError."""

    async def work() -> CallToolResult:
        async with _session(url, transport, headers or {}, timeout) as session:
            return await session.call_tool(name, dict(arguments))

    result: CallToolResult = await _within(url, timeout, work())
    text = "\n".join(part.text for part in result.content if isinstance(part, TextContent))
    if result.isError:
        raise ToolError(f"MCP tool {name!r} failed: {text[:500] or 'no reason given'}")
    data: Any = result.structuredContent if result.structuredContent is not None else _json_or_text(text)
    return ToolResult(data, text if text else json.dumps(data, ensure_ascii=False, default=str))


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return text
