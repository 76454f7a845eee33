"""Admin pages for tool providers (credentials never shown) and the tool-call ledger (read-only)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from llmops.tools.models import ToolCall, ToolProvider


@admin.register(ToolProvider)
class ToolProviderAdmin(admin.ModelAdmin[ToolProvider]):
    """Providers: the encrypted credentials column is excluded; which secrets are set is displayed."""

    list_display = ["slug", "name", "workspace", "kind", "enabled", "refreshed_at"]
    list_filter = ["kind", "enabled", "workspace"]
    search_fields = ["slug", "name"]
    exclude = ["credentials"]
    readonly_fields = ["secrets_set", "tools", "refreshed_at", "created_at", "updated_at"]

    @admin.display(description="secrets set")
    def secrets_set(self, obj: ToolProvider) -> str:
        return ", ".join(obj.credentials_set) or "-"


@admin.register(ToolCall)
class ToolCallAdmin(admin.ModelAdmin[ToolCall]):
    """The ledger is written by runs and tests only."""

    list_display = ["tool", "provider_slug", "workspace", "source", "status", "duration_ms", "created_at"]
    list_filter = ["status", "source", "workspace"]
    search_fields = ["tool", "run_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ToolCall | None = None) -> bool:
        return False
