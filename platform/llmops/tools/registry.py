"""The tool registry of one workspace's runs: the engine's built-ins plus the workspace's enabled providers.

Built from the database alone (no server is asked anything): credentialed built-ins through the engine's
``provider_tools``, OpenAPI tools from the stored document, MCP tools from the stored snapshot (called through
``llmops.tools.mcp_client``). A provider whose tools cannot be built (a stale document, a built-in the
engine no longer has) is left out with a warning: one broken provider must not stop every run.

Every call is metered in :class:`~llmops.tools.models.ToolCall`; any failure of a tool reaches the caller
as a ``ToolError`` (an agent shows it to the model as an observation).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from llmops.tools.models import ProviderKind, ToolCall, ToolCallSource, ToolCallStatus, ToolProvider
from llmops.tools.openapi import openapi_document_tools
from workflows import (
    CallContext,
    DefaultToolRegistry,
    HttpClient,
    Tool,
    ToolError,
    ToolResult,
    ToolSpec,
    builtin_tools,
    provider_tools,
)

logger = logging.getLogger(__name__)

# Under the registry's default per-call limit (``ToolSpec.timeout_seconds``), so the client's own message
# (naming the server) is the one a slow server produces.
MCP_CALL_TIMEOUT_SECONDS = 28.0
_NAME = re.compile(r"[^a-zA-Z0-9_-]")


def tool_name(provider_slug: str, tool: str) -> str:
    """``<provider_slug>__<tool>``, cut to OpenAI's function-name rule ``^[a-zA-Z0-9_-]{1,64}$``."""
    return _NAME.sub("_", f"{provider_slug}__{tool}")[:64]


@dataclass(frozen=True, slots=True)
class Origin:
    """Which provider a registered tool belongs to (``None``: an engine built-in)."""

    provider_id: int | None
    provider_slug: str
    kind: str


BUILTIN = Origin(None, "", "builtin")


class WorkspaceToolRegistry:
    """The engine's ``ToolRegistry`` for one workspace, metering every call."""

    def __init__(
        self, tools: Iterable[tuple[Tool, Origin]], *, workspace_id: int, source: str = ToolCallSource.RUN
    ) -> None:
        self._inner = DefaultToolRegistry(builtins=False)
        self._origins: dict[str, Origin] = {}
        for tool, origin in tools:
            if tool.spec.name in self._origins:  # a cut name colliding with another: keep the first
                logger.warning(
                    "tool %s of %s is shadowed by an earlier one", tool.spec.name, origin.provider_slug
                )
                continue
            self._inner.register(tool)
            self._origins[tool.spec.name] = origin
        self.workspace_id = workspace_id
        self.source = source

    def list_tools(self) -> list[ToolSpec]:
        """Every tool's spec."""
        return self._inner.list_tools()

    def get(self, name: str) -> ToolSpec | None:
        """One tool's spec."""
        return self._inner.get(name)

    def origin(self, name: str) -> Origin | None:
        """The provider of a tool (``BUILTIN`` for the engine's), or None for an unknown name."""
        return self._origins.get(name)

    async def invoke(self, name: str, arguments: Mapping[str, Any], context: CallContext) -> ToolResult:
        """Validate, call, meter; any failure is a ``ToolError``."""
        started = time.monotonic()
        try:
            result = await self._inner.invoke(name, arguments, context)
        except ToolError as exc:
            await self._record(name, context, started, error=str(exc))
            raise
        except Exception as exc:  # a transport error, the SSRF guard, a size cap: the caller sees a ToolError
            message = f"{name} failed: {exc or type(exc).__name__}"
            await self._record(name, context, started, error=message)
            raise ToolError(message) from exc
        await self._record(name, context, started, output=len(result.text))
        return result

    async def _record(
        self, name: str, context: CallContext, started: float, *, output: int = 0, error: str = ""
    ) -> None:
        origin = self._origins.get(name)
        try:
            await ToolCall.objects.acreate(
                workspace_id=self.workspace_id,
                provider_id=origin.provider_id if origin else None,
                provider_slug=origin.provider_slug if origin else "",
                tool=name[:64],
                source=self.source,
                run_id=context.run_id[:64],
                node_id=context.node_id[:128],
                status=ToolCallStatus.ERROR if error else ToolCallStatus.OK,
                error_message=error[:2000],
                duration_ms=int((time.monotonic() - started) * 1000),
                output_chars=output,
            )
        except Exception:  # metering must not turn a tool's answer into a failure
            logger.exception("could not record the call of tool %s", name)


def builtin_tool_registry(
    *, workspace_id: int, http: HttpClient, source: str = ToolCallSource.RUN
) -> WorkspaceToolRegistry:
    """The engine's built-ins only, metered (no query: for runs that call no workspace tool)."""
    return WorkspaceToolRegistry(
        [(tool, BUILTIN) for tool in builtin_tools(http=http)], workspace_id=workspace_id, source=source
    )


def workspace_tool_registry(
    *, workspace_id: int, http: HttpClient, source: str = ToolCallSource.RUN
) -> WorkspaceToolRegistry:
    """The registry a run of ``workspace_id`` uses (synchronous: reads the enabled providers once)."""
    tools: list[tuple[Tool, Origin]] = [(tool, BUILTIN) for tool in builtin_tools(http=http)]
    for provider in ToolProvider.objects.filter(workspace_id=workspace_id, enabled=True).order_by("slug"):
        try:
            tools.extend(provider_registry_tools(provider, http=http))
        except Exception:
            logger.warning("tool provider %s is left out of the registry", provider, exc_info=True)
    return WorkspaceToolRegistry(tools, workspace_id=workspace_id, source=source)


def provider_registry_tools(provider: ToolProvider, *, http: HttpClient) -> list[tuple[Tool, Origin]]:
    """One provider's tools as the registry names them."""
    origin = Origin(provider.pk, provider.slug, provider.kind)
    credentials: dict[str, Any] = dict(provider.credentials or {})
    if provider.kind == ProviderKind.BUILTIN:  # the engine's names (``tavily_search``): the Dify importer's
        return [(tool, origin) for tool in provider_tools(provider.builtin_provider, credentials, http)]
    if provider.kind == ProviderKind.OPENAPI:
        tools = openapi_document_tools(
            provider.document or {}, base_url=provider.base_url, auth=provider.auth, credentials=credentials
        )
    else:
        tools = [_mcp_tool(provider, spec, credentials) for spec in provider.tools]
    return [(_renamed(tool, provider.slug), origin) for tool in tools]


def _renamed(tool: Tool, slug: str) -> Tool:
    return Tool(replace(tool.spec, name=tool_name(slug, tool.spec.name)), tool.handler)


def _mcp_tool(provider: ToolProvider, spec: Mapping[str, Any], headers: dict[str, Any]) -> Tool:
    return Tool(
        ToolSpec(
            str(spec["name"]),
            str(spec.get("description") or ""),
            dict(spec.get("parameters") or {"type": "object", "properties": {}}),
        ),
        _McpCall(
            provider.url, provider.transport, {k: str(v) for k, v in headers.items()}, str(spec["name"])
        ),
    )


class _McpCall:
    """Calls one tool of an MCP server (the client is imported when the first call is made)."""

    def __init__(self, url: str, transport: str, headers: dict[str, str], name: str) -> None:
        self.url, self.transport, self.headers, self.name = url, transport, headers, name

    async def __call__(self, arguments: Mapping[str, Any], context: CallContext) -> ToolResult:
        from llmops.tools.mcp_client import call_mcp_tool

        return await call_mcp_tool(
            url=self.url,
            transport=self.transport,
            headers=self.headers,
            name=self.name,
            arguments=dict(arguments),
            timeout=MCP_CALL_TIMEOUT_SECONDS,
        )
