"""Reads of prompts: workspace-scoped lookups, version references, and rendering a pinned version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from llmops.accounts.models import Workspace
from llmops.core import versioning
from llmops.core.errors import NotFound
from llmops.core.refs import DRAFT, ResourceRef, ref_parse
from llmops.prompts.models import Prompt
from llmops.prompts.rendering import CompiledPrompt, compiled_prompt, render_compiled
from workflows import RenderedPrompt


@dataclass(frozen=True, slots=True)
class PromptSnapshot:
    """The content of a prompt at one version (or its draft), compiled."""

    prompt: Prompt
    version: int | None  # None for the draft
    compiled: CompiledPrompt

    @property
    def version_label(self) -> str:
        """``"3"`` or ``"draft"``, as a rendered prompt reports it."""
        return DRAFT if self.version is None else str(self.version)


def prompts_for_workspace(*, workspace: Workspace) -> QuerySet[Prompt]:
    """The prompts of ``workspace`` with their authors."""
    return Prompt.objects.filter(workspace=workspace).select_related("created_by")


def prompt_get(*, workspace: Workspace, slug: str) -> Prompt:
    """One prompt of ``workspace`` by slug, or ``NotFound``."""
    prompt = prompts_for_workspace(workspace=workspace).filter(slug=slug).first()
    if prompt is None:
        raise NotFound(f"Prompt {slug!r} not found.")
    return prompt


def prompt_snapshot(*, prompt: Prompt, version: str | int | None) -> PromptSnapshot:
    """The prompt at ``version`` (a number, ``"v3"``, ``"latest"``, a label) or its draft (``None``)."""
    if version is None or version == DRAFT:
        return PromptSnapshot(prompt, None, compiled_prompt(prompt.draft))
    pinned = versioning.version_resolve(resource=prompt, ref=version)
    return PromptSnapshot(prompt, pinned.number, compiled_prompt(pinned.content, pinned.content_hash))


def prompt_snapshot_by_ref(*, workspace: Workspace, ref: str | ResourceRef) -> PromptSnapshot:
    """Resolve a reference (``slug``, ``slug@label``, ``slug:3``; see ``llmops.core.refs``) in ``workspace``."""
    parsed = ref_parse(ref, kind="prompt") if isinstance(ref, str) else ref
    return prompt_snapshot(prompt=prompt_get(workspace=workspace, slug=parsed.slug), version=parsed.version)


def prompt_render(
    *,
    snapshot: PromptSnapshot,
    variables: Mapping[str, Any],
    placeholders: Mapping[str, list[dict[str, Any]]] | None = None,
) -> RenderedPrompt:
    """Render a snapshot with ``variables``; missing or mistyped ones raise ``ValidationError``."""
    return render_compiled(
        snapshot.compiled, variables, version=snapshot.version_label, placeholders=placeholders
    )
