"""Tool providers of a workspace and the ledger of tool calls.

A provider's secrets (API keys, bearer tokens, MCP auth headers) live in ``credentials``, encrypted at rest
like model endpoints' keys; the API shows only which fields are set. ``tools`` is the snapshot of the
provider's tools (original names, descriptions, JSON Schemas) taken when it was created or refreshed: a run
builds its registry from the database alone, without asking any server.

Tool calls are metered in :class:`ToolCall`, not in the usage ledger: ``UsageRecord`` is one model call
(model, tokens, price) and its rollups and budgets sum tokens and cost, which a tool call has none of.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from llmops.accounts.models import Workspace
from llmops.core.fields import EncryptedJSONField

# A workspace provider's tool is called ``<slug>__<tool>`` and tool names have at most 64 characters.
SLUG_MAX_LENGTH = 40


class ProviderKind(models.TextChoices):
    """Where a provider's tools come from."""

    BUILTIN = "builtin", "Built-in (with credentials)"
    OPENAPI = "openapi", "OpenAPI document"
    MCP = "mcp", "MCP server"


class McpTransport(models.TextChoices):
    """How an MCP server is reached."""

    STREAMABLE_HTTP = "streamable_http", "Streamable HTTP"
    SSE = "sse", "Server-sent events"


class ToolProvider(models.Model):
    """A source of tools for a workspace's runs: a credentialed built-in, an OpenAPI document or an MCP server."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tool_providers")
    slug = models.SlugField(max_length=SLUG_MAX_LENGTH)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=ProviderKind.choices)
    builtin_provider = models.CharField(
        max_length=64, blank=True, help_text="The engine's built-in provider (kind builtin), e.g. tavily."
    )
    url = models.CharField(
        max_length=2000,
        blank=True,
        help_text="The OpenAPI document's URL (if imported from one) or the MCP server's.",
    )
    transport = models.CharField(max_length=20, choices=McpTransport.choices, blank=True)
    document = models.JSONField(null=True, blank=True, help_text="The OpenAPI document (kind openapi).")
    base_url = models.CharField(max_length=2000, blank=True, help_text="The OpenAPI server the tools call.")
    auth = models.JSONField(
        default=dict,
        blank=True,
        help_text='How an OpenAPI call authenticates: {"type": "api_key", "in": ...}.',
    )
    credentials = EncryptedJSONField(null=True, blank=True)
    tools = models.JSONField(default=list, blank=True, help_text="Snapshot of the tools' specs.")
    enabled = models.BooleanField(default=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="tool_provider_unique_slug"),
            # A credentialed built-in's tools keep their plain names (``tavily_search``): one per workspace.
            models.UniqueConstraint(
                fields=["workspace", "builtin_provider"],
                condition=models.Q(kind="builtin"),
                name="tool_provider_unique_builtin",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id}/{self.slug}"

    @property
    def credentials_set(self) -> list[str]:
        """The names of the stored secrets (never their values)."""
        stored: Any = self.credentials or {}
        return sorted(stored) if isinstance(stored, dict) else []


class ToolCallStatus(models.TextChoices):
    """How a tool call ended."""

    OK = "ok", "OK"
    ERROR = "error", "Error"


class ToolCallSource(models.TextChoices):
    """What made the call."""

    RUN = "run", "Workflow run"
    TEST = "test", "Console test"


class ToolCall(models.Model):
    """One tool call: which tool of which provider, for which run, how long, how it ended, how much it returned.

    ``run_id`` is a plain indexed string (as in the usage ledger): the run may be deleted while the row stays.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    provider = models.ForeignKey(
        ToolProvider, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    provider_slug = models.CharField(
        max_length=SLUG_MAX_LENGTH, blank=True, help_text="Empty: a built-in tool."
    )
    tool = models.CharField(max_length=64)
    source = models.CharField(max_length=8, choices=ToolCallSource.choices, default=ToolCallSource.RUN)
    run_id = models.CharField(max_length=64, blank=True, db_index=True)
    node_id = models.CharField(max_length=128, blank=True)
    status = models.CharField(max_length=8, choices=ToolCallStatus.choices)
    error_message = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    output_chars = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "created_at"], name="toolcall_ws_created")]

    def __str__(self) -> str:
        return f"{self.tool} {self.status} {self.created_at:%Y-%m-%d %H:%M:%S}"
