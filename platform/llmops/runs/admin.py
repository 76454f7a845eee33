"""Admin for runs (read-only: they are records), their node timeline and events, and schedules."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from llmops.runs.models import ConversationState, NodeRun, Run, RunEvent, Schedule


class NodeRunInline(admin.TabularInline[NodeRun, Run]):
    model = NodeRun
    extra = 0
    fields = ("node_id", "node_type", "status", "attempts", "started_at", "finished_at", "prompt_tokens",
              "completion_tokens", "error")  # fmt: skip
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Run)
class RunAdmin(admin.ModelAdmin[Run]):
    list_display = ["id", "workflow", "workflow_version", "workspace", "status", "trigger", "created_at",
                    "elapsed_ms", "attempts", "cost"]  # fmt: skip
    list_filter = ["status", "trigger", "workspace", "created_at"]
    search_fields = ["id", "workflow__slug", "end_user", "worker"]
    list_select_related = ["workflow", "workflow_version", "workspace"]
    date_hierarchy = "created_at"
    inlines = [NodeRunInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Run._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(RunEvent)
class RunEventAdmin(admin.ModelAdmin[RunEvent]):
    list_display = ["run", "seq", "type", "created_at"]
    list_filter = ["type"]
    search_fields = ["run__id"]
    readonly_fields = ["run", "seq", "type", "data", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin[Schedule]):
    list_display = ["name", "workflow", "workspace", "cron", "timezone", "version", "enabled", "last_run_at"]
    list_filter = ["enabled", "workspace"]
    search_fields = ["name", "workflow__slug"]
    list_select_related = ["workflow", "workspace"]
    readonly_fields = ["periodic_task", "last_run_at", "last_error", "created_at"]


@admin.register(ConversationState)
class ConversationStateAdmin(admin.ModelAdmin[ConversationState]):
    list_display = ["key", "workspace", "dialogue_count", "version", "updated_at"]
    list_filter = ["workspace"]
    search_fields = ["key"]
    readonly_fields = [
        "workspace",
        "key",
        "variables",
        "dialogue_count",
        "version",
        "created_at",
        "updated_at",
    ]
