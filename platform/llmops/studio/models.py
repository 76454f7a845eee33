"""Models of the studio app: workflows, their versions and labels (chains have their own app)."""

from __future__ import annotations

from django.db import models

from llmops.core.models import ResourceLabel, ResourceVersion, VersionedResource


class Workflow(VersionedResource):
    """A workflow; ``draft`` and every version's ``content`` are DSL documents the engine validated."""

    class Meta(VersionedResource.Meta):
        abstract = False


class WorkflowVersion(ResourceVersion):
    """An immutable, runnable snapshot of a workflow."""

    resource = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")

    class Meta(ResourceVersion.Meta):
        abstract = False


class WorkflowLabel(ResourceLabel):
    """``production``, ``staging``... pointing at a workflow version."""

    resource = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="labels")
    version = models.ForeignKey(WorkflowVersion, on_delete=models.CASCADE, related_name="labels")

    class Meta(ResourceLabel.Meta):
        abstract = False
