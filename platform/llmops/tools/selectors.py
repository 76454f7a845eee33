"""Reads of the tools app, scoped to a workspace."""

from __future__ import annotations

from django.db.models import QuerySet

from llmops.accounts.models import Workspace
from llmops.core.errors import NotFound
from llmops.tools.models import ToolCall, ToolProvider


def tool_providers_for_workspace(*, workspace: Workspace) -> QuerySet[ToolProvider]:
    """The workspace's tool providers, by slug."""
    return ToolProvider.objects.filter(workspace=workspace).order_by("slug")


def tool_provider_get(*, workspace: Workspace, slug: str) -> ToolProvider:
    """One provider of the workspace (another workspace's is not found)."""
    provider = tool_providers_for_workspace(workspace=workspace).filter(slug=slug).first()
    if provider is None:
        raise NotFound(f"No tool provider {slug!r} in this workspace.")
    return provider


def tool_calls_for_workspace(
    *, workspace: Workspace, run_id: str = "", tool: str = "", provider: str = ""
) -> QuerySet[ToolCall]:
    """The workspace's metered tool calls, newest first, optionally of one run, tool or provider (slug)."""
    calls = ToolCall.objects.filter(workspace=workspace).order_by("-created_at", "-id")
    if run_id:
        calls = calls.filter(run_id=run_id)
    if tool:
        calls = calls.filter(tool=tool)
    if provider:
        calls = calls.filter(provider_slug=provider)
    return calls


def tools_for_workspace(*, workspace: Workspace) -> list[dict[str, object]]:
    """Every tool the workspace's runs can call: name, description, JSON Schema, provider and its kind."""
    from llmops.core.outbound import workflow_http_client
    from llmops.tools.registry import workspace_tool_registry

    registry = workspace_tool_registry(workspace_id=workspace.pk, http=workflow_http_client())
    listed: list[dict[str, object]] = []
    for spec in registry.list_tools():
        origin = registry.origin(spec.name)
        listed.append({
            "name": spec.name,
            "description": spec.description,
            "parameters": spec.parameters,
            "provider": (origin.provider_slug or None) if origin else None,
            "kind": origin.kind if origin else "builtin",
        })  # fmt: skip
    return listed
