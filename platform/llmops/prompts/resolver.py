"""The engine's ``PromptResolver`` port, backed by the prompts of one workspace."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asgiref.sync import sync_to_async

from llmops.accounts.models import Workspace
from llmops.prompts.selectors import prompt_render, prompt_snapshot_by_ref
from workflows._ports import CallContext, RenderedPrompt


class PlatformPromptResolver:
    """Renders ``slug`` (latest version), ``slug@label`` or ``slug:3`` from ``workspace``'s prompts.

    Errors are the platform's domain errors: ``NotFound`` for an unknown prompt, version or label,
    ``ValidationError`` (with ``variables.<name>`` fields) for missing or mistyped variables.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def render_sync(self, ref: str, variables: Mapping[str, Any]) -> RenderedPrompt:
        """Synchronous form of :meth:`render` for callers outside an event loop."""
        snapshot = prompt_snapshot_by_ref(workspace=self.workspace, ref=ref)
        return prompt_render(snapshot=snapshot, variables=variables)

    async def render(self, ref: str, variables: Mapping[str, Any], context: CallContext) -> RenderedPrompt:
        """Resolve the reference to a pinned version and render it."""
        return await sync_to_async(self.render_sync)(ref, variables)
