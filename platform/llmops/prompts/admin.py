"""Admin for prompts, their versions and labels (versions are read-only: they are immutable)."""

from __future__ import annotations

from django.contrib import admin

from llmops.core.admin import ResourceVersionAdmin, VersionedResourceAdmin, label_inline, version_inline
from llmops.prompts.models import Prompt, PromptLabel, PromptVersion


@admin.register(Prompt)
class PromptAdmin(VersionedResourceAdmin):
    inlines = [label_inline(PromptLabel), version_inline(PromptVersion)]


@admin.register(PromptVersion)
class PromptVersionAdmin(ResourceVersionAdmin):
    pass


@admin.register(PromptLabel)
class PromptLabelAdmin(admin.ModelAdmin[PromptLabel]):
    list_display = ["name", "resource", "version", "updated_by", "updated_at"]
    list_filter = ["name", "resource__workspace"]
    search_fields = ["name", "resource__slug"]
    list_select_related = ["resource", "version", "updated_by"]
    raw_id_fields = ["resource", "version", "updated_by"]
