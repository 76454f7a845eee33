"""Permission-scoped reads of knowledge bases, documents and chunks."""

from __future__ import annotations

import re

from django.db.models import QuerySet

from llmops.accounts.models import Workspace
from llmops.core.errors import NotFound
from llmops.knowledge.models import Chunk, Document, KnowledgeBase

# ASCII digits only (``str.isdigit`` accepts "²", which ``int`` refuses), few enough to fit a bigint
_ID = re.compile(r"[0-9]{1,18}")


def knowledge_base_id(ref: object) -> int | None:
    """The id a reference names when it is one (a slug otherwise): ``"12"`` -> 12, ``"docs"``/``"²"`` -> None."""
    text = str(ref)
    return int(text) if _ID.fullmatch(text) else None


def knowledge_bases_for_workspace(*, workspace: Workspace) -> QuerySet[KnowledgeBase]:
    """The workspace's knowledge bases."""
    return KnowledgeBase.objects.filter(workspace=workspace)


def knowledge_base_get(*, workspace: Workspace | int, slug_or_id: str) -> KnowledgeBase:
    """One knowledge base of the workspace by slug or id (``NotFound`` otherwise: no cross-tenant leak)."""
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    found = KnowledgeBase.objects.filter(workspace_id=workspace_id)
    pk = knowledge_base_id(slug_or_id)
    found = found.filter(pk=pk) if pk is not None else found.filter(slug=slug_or_id)
    kb = found.first()
    if kb is None:
        raise NotFound(f"No knowledge base {slug_or_id!r} in this workspace.")
    return kb


def documents_for_knowledge_base(*, knowledge_base: KnowledgeBase) -> QuerySet[Document]:
    """The knowledge base's documents without their raw content."""
    return Document.objects.filter(knowledge_base=knowledge_base).defer("content")


def chunks_for_document(*, document: Document) -> QuerySet[Chunk]:
    """The searchable (active generation) chunks of a document, in order."""
    return (
        Chunk.objects.filter(document=document, generation=document.active_generation)
        .defer("embedding", "segmented")
        .order_by("position")
    )
