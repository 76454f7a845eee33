"""Models of the studio app, one module per resource kind."""

from llmops.studio.models.chains import Chain, ChainConversation, ChainLabel, ChainMessage, ChainVersion
from llmops.studio.models.workflows import Workflow, WorkflowLabel, WorkflowVersion

__all__ = [
    "Chain",
    "ChainConversation",
    "ChainLabel",
    "ChainMessage",
    "ChainVersion",
    "Workflow",
    "WorkflowLabel",
    "WorkflowVersion",
]
