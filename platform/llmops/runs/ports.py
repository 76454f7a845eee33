"""The engine's ports for one run, built from the platform's adapters."""

from __future__ import annotations

from django.conf import settings
from workflows import DefaultToolRegistry, GuardedHttpClient, Ports, SubprocessSandbox

from llmops.runs.models import Run


def build_ports(run: Run) -> Ports:
    """Adapters for one run: sandboxed code, SSRF-guarded HTTP, built-in tools (models come with providers)."""
    return Ports(
        sandbox=SubprocessSandbox(),
        http=GuardedHttpClient(allow=settings.LLMOPS_WORKFLOW_HTTP_ALLOWLIST),
        tools=DefaultToolRegistry(),
    )
