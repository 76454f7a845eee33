"""``PlatformRetriever``: the engine's Retriever port on the workspace's knowledge bases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from asgiref.sync import sync_to_async

from llmops.core.errors import NotFound
from llmops.knowledge.models import KnowledgeBase
from llmops.knowledge.search import knowledge_search
from workflows._ports import CallContext, RetrievedChunk


class PlatformRetriever:
    """Searches the knowledge bases of one workspace (ids or slugs); others are not found."""

    def __init__(self, *, workspace_id: int) -> None:
        self.workspace_id = workspace_id

    async def retrieve(
        self,
        knowledge_base_ids: Sequence[str],
        query: str,
        *,
        top_k: int,
        score_threshold: float | None,
        mode: Literal["vector", "full_text", "hybrid"],
        filters: Mapping[str, Any],
        context: CallContext,
    ) -> list[RetrievedChunk]:
        """The best chunks for ``query``, best first, with document titles and positions for citations."""
        return await sync_to_async(self._retrieve, thread_sensitive=True)(
            list(knowledge_base_ids), query, top_k, score_threshold, mode, dict(filters)
        )

    def _retrieve(
        self,
        refs: list[str],
        query: str,
        top_k: int,
        score_threshold: float | None,
        mode: str,
        filters: dict[str, Any],
    ) -> list[RetrievedChunk]:
        kbs = self._knowledge_bases(refs)
        hits = knowledge_search(
            knowledge_bases=kbs, query=query, mode=mode, top_k=top_k, score_threshold=score_threshold,
            filters=filters or None,
        )  # fmt: skip
        return [
            RetrievedChunk(
                text=hit.text,
                score=hit.score,
                document_title=hit.document_title,
                position=hit.position,
                metadata={**hit.metadata, "document_id": hit.document_id, "chunk_id": hit.chunk_id},
            )
            for hit in hits
        ]

    def _knowledge_bases(self, refs: list[str]) -> list[KnowledgeBase]:
        ids = [int(ref) for ref in refs if str(ref).isdigit()]
        slugs = [ref for ref in refs if not str(ref).isdigit()]
        found = list(
            KnowledgeBase.objects.filter(workspace_id=self.workspace_id).filter(
                **({"pk__in": ids} if not slugs else {"slug__in": slugs} if not ids else {})
            )
        )
        found = [kb for kb in found if kb.pk in ids or kb.slug in slugs]
        if len(found) != len(set(refs)):
            missing = set(refs) - {str(kb.pk) for kb in found} - {kb.slug for kb in found}
            raise NotFound(f"Unknown knowledge bases in this workspace: {sorted(missing)}.")
        return found
