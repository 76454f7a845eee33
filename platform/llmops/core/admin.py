"""Admin building blocks shared by every versioned resource (prompts, chains, workflows, endpoints).

Versions are immutable: their inline and their own page are read-only; labels stay editable.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from llmops.core.models import ResourceLabel, ResourceVersion, VersionedResource


def version_inline(
    version_model: type[ResourceVersion],
) -> type[admin.TabularInline[ResourceVersion, VersionedResource]]:
    """A read-only inline listing a resource's versions."""

    class VersionInline(admin.TabularInline[ResourceVersion, VersionedResource]):
        model = version_model
        extra = 0
        fields = ("number", "message", "author", "content_hash", "created_at")
        readonly_fields = fields
        can_delete = False
        show_change_link = True

        def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
            return False

    return VersionInline


def label_inline(
    label_model: type[ResourceLabel],
) -> type[admin.TabularInline[ResourceLabel, VersionedResource]]:
    """An editable inline of a resource's labels."""

    class LabelInline(admin.TabularInline[ResourceLabel, VersionedResource]):
        model = label_model
        extra = 0
        fields = ["name", "version", "updated_by", "updated_at"]
        readonly_fields = ["updated_by", "updated_at"]

    return LabelInline


class VersionedResourceAdmin(admin.ModelAdmin[VersionedResource]):
    """Resource list and page; subclasses set ``inlines = [label_inline(L), version_inline(V)]``."""

    list_display = ["name", "slug", "workspace", "latest_version_number", "created_by", "updated_at"]
    list_filter = ["workspace", "updated_at"]
    search_fields = ["name", "slug", "description", "workspace__slug"]
    list_select_related = ["workspace", "created_by"]
    readonly_fields = ["latest_version_number", "created_at", "updated_at"]
    raw_id_fields = ["created_by"]


class ResourceVersionAdmin(admin.ModelAdmin[ResourceVersion]):
    """A version's page: everything read-only."""

    list_display = ["resource", "number", "message", "author", "created_at"]
    list_filter = ["resource__workspace", "created_at"]
    search_fields = ["resource__slug", "resource__name", "message", "content_hash"]
    list_select_related = ["resource", "author"]
    readonly_fields = ["resource", "number", "content", "content_hash", "message", "author", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
