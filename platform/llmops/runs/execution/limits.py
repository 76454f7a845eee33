"""The engine's limits for a run, from the settings (one place for every execution mode)."""

from __future__ import annotations

from django.conf import settings

from llmops.prompts.templating import template_limits
from workflows import RunLimits


def run_limits() -> RunLimits:
    """Wall time (``LLMOPS_RUN_MAX_SECONDS``) and what one template render may spend (``LLMOPS_TEMPLATE_*``)."""
    return RunLimits(max_seconds=settings.LLMOPS_RUN_MAX_SECONDS, templates=template_limits())
