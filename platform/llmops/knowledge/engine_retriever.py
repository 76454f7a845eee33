"""``PlatformRetriever``: the engine's Retriever port on the workspace's knowledge bases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from asgiref.sync import sync_to_async

from llmops.core.errors import NotFound
from llmops.knowledge.models import KnowledgeBase
from llmops.knowledge.rerank import SearchMetering
from llmops.knowledge.search import knowledge_search
from llmops.knowledge.selectors import knowledge_base_id
from llmops.providers.gateway import PlatformModelGateway
from llmops.usage.models import UsageSource
from workflows import CallContext, RetrievedChunk


class PlatformRetriever:
    """Searches the knowledge bases of one workspace (ids or slugs); others are not found.

    A rerank is metered under the caller's run and node, with ``gateway``'s attribution (pass the run's
    gateway: source, deployment, API key, end user); without one, as a ``run`` of the workspace.
    """

    def __init__(self, *, workspace_id: int, gateway: PlatformModelGateway | None = None) -> None:
        self.workspace_id = workspace_id
        self.gateway = gateway

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
            list(knowledge_base_ids), query, top_k, score_threshold, mode, dict(filters), context
        )

    def _retrieve(
        self,
        refs: list[str],
        query: str,
        top_k: int,
        score_threshold: float | None,
        mode: str,
        filters: dict[str, Any],
        context: CallContext,
    ) -> list[RetrievedChunk]:
        kbs = self._knowledge_bases(refs)
        gateway = self.gateway or PlatformModelGateway(workspace=self.workspace_id, source=UsageSource.RUN)
        hits = knowledge_search(
            knowledge_bases=kbs, query=query, mode=mode, top_k=top_k, score_threshold=score_threshold,
            filters=filters or None, metering=SearchMetering(gateway, context),
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
        ids = [pk for pk in map(knowledge_base_id, refs) if pk is not None]
        slugs = [ref for ref in refs if knowledge_base_id(ref) is None]
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
