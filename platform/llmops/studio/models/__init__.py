"""Models of the studio app: workflows (chains moved to the ``chains`` app)."""

from llmops.studio.models.workflows import Workflow, WorkflowLabel, WorkflowVersion

__all__ = ["Workflow", "WorkflowLabel", "WorkflowVersion"]
