"""Models of the studio app: workflows, their versions and labels (chains have their own app)."""

from __future__ import annotations

from django.db import models

from llmops.core.models import ResourceLabel, ResourceVersion, VersionedResource


class Workflow(VersionedResource):
    """A workflow; ``draft`` and every version's ``content`` are DSL documents the engine validated."""

    class Meta(VersionedResource.Meta):
        abstract = False


class PublishedVersionManager(models.Manager["WorkflowVersion"]):
    """The default manager (so ``workflow.versions`` too): published versions only, never debug snapshots."""

    def get_queryset(self) -> models.QuerySet[WorkflowVersion]:
        return super().get_queryset().filter(debug=False)


class WorkflowVersion(ResourceVersion):
    """An immutable, runnable snapshot of a workflow.

    A **debug snapshot** (``debug=True``, number 0) is the draft as it was when someone ran it from the canvas
    without publishing: a debug run pins it like any run pins its version, while versions lists, ``latest``,
    labels and diffs never see it (the default manager hides it; a run reaches it through its foreign key,
    which uses the base manager). Snapshots of the same content are shared.
    """

    resource = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    debug = models.BooleanField(default=False)

    objects = PublishedVersionManager()
    snapshots = models.Manager()  # every row, debug snapshots included

    class Meta(ResourceVersion.Meta):
        abstract = False
        base_manager_name = "snapshots"
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "number"],
                condition=models.Q(debug=False),
                name="studio_workflowversion_unique_number",
            )
        ]


class WorkflowLabel(ResourceLabel):
    """``production``, ``staging``... pointing at a workflow version."""

    resource = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="labels")
    version = models.ForeignKey(WorkflowVersion, on_delete=models.CASCADE, related_name="labels")

    class Meta(ResourceLabel.Meta):
        abstract = False
