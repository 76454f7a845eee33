"""Admin of the studio app, one module per resource kind (Django imports this package on autodiscovery)."""

from llmops.studio.admin import chains, workflows

__all__ = ["chains", "workflows"]
