"""Admin for chains, their versions and labels, and conversation memory."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from llmops.chains.models import Chain, ChainConversation, ChainLabel, ChainMessage, ChainVersion
from llmops.core.admin import ResourceVersionAdmin, VersionedResourceAdmin, label_inline, version_inline


@admin.register(Chain)
class ChainAdmin(VersionedResourceAdmin):
    inlines = [label_inline(ChainLabel), version_inline(ChainVersion)]


@admin.register(ChainVersion)
class ChainVersionAdmin(ResourceVersionAdmin):
    pass


class ChainMessageInline(admin.TabularInline[ChainMessage, ChainConversation]):
    model = ChainMessage
    extra = 0
    fields = ("role", "content", "chain_version", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ChainConversation)
class ChainConversationAdmin(admin.ModelAdmin[ChainConversation]):
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
