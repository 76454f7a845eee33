"""Admin for workflows and their versions and labels."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from llmops.core.admin import ResourceVersionAdmin, VersionedResourceAdmin, label_inline, version_inline
from llmops.studio.models import Workflow, WorkflowLabel, WorkflowVersion


@admin.register(Workflow)
class WorkflowAdmin(VersionedResourceAdmin):
    inlines = [label_inline(WorkflowLabel), version_inline(WorkflowVersion)]
    readonly_fields = [*VersionedResourceAdmin.readonly_fields, "usage_dashboard"]

    @admin.display(description="usage")
    def usage_dashboard(self, workflow: Workflow) -> str:
        if workflow.pk is None:
            return "-"
        url = reverse("admin:usage_usagerollup_dashboard_workflow", args=[workflow.pk])
        return format_html('<a href="{}">Usage dashboard 用量看板</a>', url)


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(ResourceVersionAdmin):
    pass
