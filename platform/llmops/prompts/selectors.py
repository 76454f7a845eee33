"""Reads of prompts: workspace-scoped lookups, version references, and rendering a pinned version."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from llmops.accounts.models import Workspace
from llmops.core import services as versioning
from llmops.core.errors import NotFound, ValidationError
from llmops.prompts.models import Prompt
from llmops.prompts.rendering import CompiledPrompt, compiled_prompt, render_compiled
from workflows._ports import RenderedPrompt

DRAFT = "draft"
_REF = re.compile(r"^(?P<slug>[-a-zA-Z0-9_]+)(?:@(?P<label>[a-z0-9][a-z0-9_.-]*)|:(?P<number>\d+))?$")


@dataclass(frozen=True, slots=True)
class PromptRef:
    """A parsed reference: ``slug`` (latest), ``slug@label`` or ``slug:3``."""

    slug: str
    version: str | int = "latest"

    def __str__(self) -> str:
        if isinstance(self.version, int):
            return f"{self.slug}:{self.version}"
        return self.slug if self.version == "latest" else f"{self.slug}@{self.version}"


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


def prompt_ref_parse(ref: str) -> PromptRef:
    """Parse ``slug``, ``slug@label`` or ``slug:3``; anything else is a ``ValidationError``."""
    match = _REF.match(ref.strip())
    if match is None:
        raise ValidationError(
            f"Invalid prompt reference {ref!r}.", fields={"ref": ["Use slug, slug@label or slug:3."]}
        )
    if match["number"]:
        return PromptRef(match["slug"], int(match["number"]))
    return PromptRef(match["slug"], match["label"] or "latest")


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


def prompt_snapshot_by_ref(*, workspace: Workspace, ref: str | PromptRef) -> PromptSnapshot:
    """Resolve a reference (``slug``, ``slug@label``, ``slug:3``) in ``workspace`` to a pinned version."""
    parsed = prompt_ref_parse(ref) if isinstance(ref, str) else ref
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
