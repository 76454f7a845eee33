"""Admin for workflows and their versions and labels."""

from __future__ import annotations

from django.contrib import admin

from llmops.core.admin import ResourceVersionAdmin, VersionedResourceAdmin, label_inline, version_inline
from llmops.studio.models import Workflow, WorkflowLabel, WorkflowVersion


@admin.register(Workflow)
class WorkflowAdmin(VersionedResourceAdmin):
    inlines = [label_inline(WorkflowLabel), version_inline(WorkflowVersion)]


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(ResourceVersionAdmin):
    pass
