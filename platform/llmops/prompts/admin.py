"""Admin for prompts, their versions and labels (versions are read-only: they are immutable)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from llmops.prompts.models import Prompt, PromptLabel, PromptVersion


class PromptVersionInline(admin.TabularInline):  # type: ignore[type-arg]
    model = PromptVersion
    extra = 0
    fields = ("number", "message", "author", "content_hash", "created_at")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PromptLabelInline(admin.TabularInline):  # type: ignore[type-arg]
    model = PromptLabel
    extra = 0
    fields = ["name", "version", "updated_by", "updated_at"]
    readonly_fields = ["updated_by", "updated_at"]


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "slug", "workspace", "latest_version_number", "created_by", "updated_at"]
    list_filter = ["workspace", "updated_at"]
    search_fields = ["name", "slug", "description", "workspace__slug"]
    list_select_related = ["workspace", "created_by"]
    readonly_fields = ["latest_version_number", "created_at", "updated_at"]
    raw_id_fields = ["created_by"]
    inlines = [PromptLabelInline, PromptVersionInline]


@admin.register(PromptVersion)
class PromptVersionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["resource", "number", "message", "author", "created_at"]
    list_filter = ["resource__workspace", "created_at"]
    search_fields = ["resource__slug", "resource__name", "message", "content_hash"]
    list_select_related = ["resource", "author"]
    readonly_fields = ["resource", "number", "content", "content_hash", "message", "author", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PromptLabel)
class PromptLabelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "resource", "version", "updated_by", "updated_at"]
    list_filter = ["name", "resource__workspace"]
    search_fields = ["name", "resource__slug"]
    list_select_related = ["resource", "version", "updated_by"]
    raw_id_fields = ["resource", "version", "updated_by"]
