"""The engine's ``PromptResolver`` port, backed by the prompts of one workspace."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asgiref.sync import sync_to_async

from llmops.accounts.models import Workspace
from llmops.prompts.selectors import PromptSnapshot, prompt_render, prompt_snapshot_by_ref
from workflows import CallContext, RenderedPrompt


class PlatformPromptResolver:
    """Renders ``slug`` (latest version), ``slug@label`` or ``slug:3`` from ``workspace``'s prompts.

    Within one run a reference resolves once: the first node that renders ``support@production`` pins the
    version that label points at for every later node (and every iteration) of that run, so moving a label
    mid-run never mixes two versions in one run. A run resumed in another process resolves again.

    Errors are the platform's domain errors: ``NotFound`` for an unknown prompt, version or label,
    ``ValidationError`` (with ``variables.<name>`` fields) for missing or mistyped variables.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._pinned: dict[tuple[str, str], PromptSnapshot] = {}

    def render_sync(self, ref: str, variables: Mapping[str, Any]) -> RenderedPrompt:
        """Synchronous form of :meth:`render` for callers outside an event loop (resolves every time)."""
        snapshot = prompt_snapshot_by_ref(workspace=self.workspace, ref=ref)
        return prompt_render(snapshot=snapshot, variables=variables)

    async def render(self, ref: str, variables: Mapping[str, Any], context: CallContext) -> RenderedPrompt:
        """Resolve the reference to a version (pinned for the rest of the run) and render it."""
        key = (context.run_id, ref)
        snapshot = self._pinned.get(key)
        if snapshot is None:
            snapshot = await sync_to_async(prompt_snapshot_by_ref)(workspace=self.workspace, ref=ref)
            self._pinned[key] = snapshot
        return prompt_render(snapshot=snapshot, variables=variables)
