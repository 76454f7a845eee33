"""Reads of chains: workspace-scoped lookups, version references and conversation memory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from llmops.accounts.models import Workspace
from llmops.chains.content import ChainContent, chain_content_parse
from llmops.chains.models import Chain, ChainMessage
from llmops.core import versioning
from llmops.core.errors import NotFound
from llmops.core.refs import DRAFT, LATEST, ref_parse


@dataclass(frozen=True, slots=True)
class ChainSnapshot:
    """A chain's content at one version (``version`` is ``None`` for the draft)."""

    chain: Chain
    version: int | None
    content: ChainContent

    @property
    def version_label(self) -> str:
        """``"3"`` or ``"draft"``."""
        return DRAFT if self.version is None else str(self.version)


def chains_for_workspace(*, workspace: Workspace) -> QuerySet[Chain]:
    """The chains of ``workspace`` with their authors."""
    return Chain.objects.filter(workspace=workspace).select_related("created_by")


def chain_get(*, workspace: Workspace, slug: str) -> Chain:
    """One chain of ``workspace`` by slug, or ``NotFound``."""
    chain = chains_for_workspace(workspace=workspace).filter(slug=slug).first()
    if chain is None:
        raise NotFound(f"Chain {slug!r} not found.")
    return chain


def chain_snapshot(*, chain: Chain, version: str | int | None) -> ChainSnapshot:
    """The chain at ``version``: ``None``/``"latest"`` (latest published), a number, a label, ``"draft"``."""
    if version == DRAFT:
        return ChainSnapshot(chain, None, chain_content_parse(chain.draft, prefix="draft"))
    pinned = versioning.version_resolve(resource=chain, ref=version if version is not None else LATEST)
    return ChainSnapshot(chain, pinned.number, chain_content_parse(pinned.content, prefix="content"))


def chain_snapshot_by_ref(*, workspace: Workspace, ref: str) -> ChainSnapshot:
    """Resolve ``slug`` (latest version), ``slug@label`` or ``slug:3`` (see ``llmops.core.refs``)."""
    parsed = ref_parse(ref, kind="chain")
    return chain_snapshot(chain=chain_get(workspace=workspace, slug=parsed.slug), version=parsed.version)


def chain_history(*, chain: Chain, conversation_id: str, turns: int) -> list[dict[str, Any]]:
    """The last ``turns`` turns (user and assistant messages) of a conversation, oldest first."""
    recent = ChainMessage.objects.filter(
        conversation__workspace_id=chain.workspace_id,
        conversation__chain=chain,
        conversation__external_id=conversation_id,
    ).order_by("-id")[: turns * 2]
    return [{"role": message.role, "content": message.content} for message in reversed(list(recent))]
