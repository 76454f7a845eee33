"""Admin pages for the usage ledger (read-only: rows are facts about calls that happened)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from llmops.usage.models import UsageRecord


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin[UsageRecord]):
    list_display = [
        "created_at",
        "workspace",
        "endpoint_slug",
        "model_name",
        "operation",
        "source",
        "status",
        "prompt_tokens",
        "completion_tokens",
        "latency_ms",
        "ttft_ms",
        "cost",
        "currency",
    ]
    list_filter = ["status", "operation", "source", "provider_kind", "workspace", "created_at"]
    search_fields = ["endpoint_slug", "model_name", "run_id", "deployment_id", "end_user", "error_type"]
    date_hierarchy = "created_at"
    list_select_related = ["workspace"]
    show_full_result_count = False  # COUNT(*) over a big ledger is slow

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in UsageRecord._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
