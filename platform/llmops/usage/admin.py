"""Admin pages for the usage ledger (read-only: rows are facts about calls that happened)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from llmops.usage.budgets import budget_status, budgets_forget
from llmops.usage.models import Budget, BudgetAlert, UsageRecord, UsageRollup, UsageSettings


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


class BudgetAlertInline(admin.TabularInline[BudgetAlert, Budget]):
    model = BudgetAlert
    extra = 0
    can_delete = False
    fields = (
        "created_at",
        "period_start",
        "scope_value",
        "threshold",
        "spent",
        "delivered_at",
        "delivery_error",
    )
    readonly_fields = fields


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin[Budget]):
    """Budgets with this period's consumption (from the ledger) and the thresholds they crossed."""

    list_display = ["name", "workspace", "scope", "scope_key", "period", "metric", "cap", "currency", "consumption",
                    "is_active"]  # fmt: skip
    list_filter = ["scope", "period", "metric", "is_active", "workspace"]
    search_fields = ["name", "scope_key"]
    exclude = ["webhook_secret"]
    inlines = [BudgetAlertInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="this period")
    def consumption(self, budget: Budget) -> str:
        status = budget_status(budget)
        return f"{status['used_fraction']:.0%} of the cap (top key), resets {status['resets_at'][:16]}"

    def save_model(self, request: HttpRequest, obj: Budget, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        budgets_forget(obj.workspace_id)


@admin.register(UsageRollup)
class UsageRollupAdmin(admin.ModelAdmin[UsageRollup]):
    """The dashboards' rollup cells (read only: ``manage.py usage_rollup --rebuild`` recounts them)."""

    list_display = ["bucket", "granularity", "workspace", "dimension", "key", "currency", "requests", "errors",
                    "cost"]  # fmt: skip
    list_filter = ["granularity", "dimension", "workspace"]
    search_fields = ["key"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(UsageSettings)
class UsageSettingsAdmin(admin.ModelAdmin[UsageSettings]):
    """Each workspace's reporting currency and the rates that convert other currencies into it."""

    list_display = ["workspace", "currency", "rates", "updated_at"]
    search_fields = ["workspace__slug", "workspace__name"]
    list_select_related = ["workspace"]
