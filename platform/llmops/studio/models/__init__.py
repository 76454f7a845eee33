"""Models of the studio app, one module per resource kind."""

from llmops.studio.models.workflows import Workflow, WorkflowLabel, WorkflowVersion

__all__ = ["Workflow", "WorkflowLabel", "WorkflowVersion"]
