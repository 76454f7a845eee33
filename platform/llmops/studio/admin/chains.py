"""Admin for chains, their versions and labels, and conversation memory."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from llmops.studio.models import Chain, ChainConversation, ChainLabel, ChainMessage, ChainVersion


class ChainVersionInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ChainVersion
    extra = 0
    fields = ("number", "message", "author", "content_hash", "created_at")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ChainLabelInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ChainLabel
    extra = 0
    fields = ["name", "version", "updated_by", "updated_at"]
    readonly_fields = ["updated_by", "updated_at"]


@admin.register(Chain)
class ChainAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "slug", "workspace", "latest_version_number", "created_by", "updated_at"]
    list_filter = ["workspace", "updated_at"]
    search_fields = ["name", "slug", "description", "workspace__slug"]
    list_select_related = ["workspace", "created_by"]
    readonly_fields = ["latest_version_number", "created_at", "updated_at"]
    raw_id_fields = ["created_by"]
    inlines = [ChainLabelInline, ChainVersionInline]


@admin.register(ChainVersion)
class ChainVersionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["resource", "number", "message", "author", "created_at"]
    list_filter = ["resource__workspace", "created_at"]
    search_fields = ["resource__slug", "resource__name", "message", "content_hash"]
    list_select_related = ["resource", "author"]
    readonly_fields = ["resource", "number", "content", "content_hash", "message", "author", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ChainMessageInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ChainMessage
    extra = 0
    fields = ("role", "content", "chain_version", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ChainConversation)
class ChainConversationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["external_id", "chain", "workspace", "message_count", "created_at", "updated_at"]
    list_filter = ["workspace", "chain", "updated_at"]
    search_fields = ["external_id", "chain__slug", "messages__content"]
    list_select_related = ["chain", "workspace"]
    readonly_fields = ["workspace", "chain", "external_id", "created_at", "updated_at"]
    inlines = [ChainMessageInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChainConversation]:
        queryset: QuerySet[ChainConversation] = super().get_queryset(request)
        return queryset.annotate(message_total=Count("messages"))

    @admin.display(description="messages", ordering="message_total")
    def message_count(self, conversation: Any) -> int:
        return int(conversation.message_total)
