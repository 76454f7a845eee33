"""Admin of the studio app (Django imports this package on autodiscovery)."""

from llmops.studio.admin import workflows

__all__ = ["workflows"]
