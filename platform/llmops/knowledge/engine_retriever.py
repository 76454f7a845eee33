"""``PlatformRetriever``: the engine's Retriever port on the workspace's knowledge bases."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from asgiref.sync import sync_to_async

from llmops.knowledge.rerank import SearchMetering
from llmops.knowledge.search import knowledge_search
from llmops.knowledge.versions import KnowledgeScope, knowledge_scope_resolve
from llmops.providers.gateway import PlatformModelGateway
from llmops.usage.models import UsageSource
from workflows import CallContext, RetrievedChunk


class PlatformRetriever:
    """Searches the knowledge bases of one workspace by reference (``kb``, ``kb:3``, ``kb@production``,
    ``kb@draft``; ``kb`` may be an id); others are not found.

    A rerank is metered under the caller's run and node, with ``gateway``'s attribution (pass the run's
    gateway: source, deployment, API key, end user); without one, as a ``run`` of the workspace.
    ``on_resolved`` receives what each search resolved its references to (``{"kb@production": "kb:3"}``),
    for the run or evaluation that records the knowledge versions it used.
    """

    def __init__(
        self,
        *,
        workspace_id: int,
        gateway: PlatformModelGateway | None = None,
        on_resolved: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        self.workspace_id = workspace_id
        self.gateway = gateway
        self.on_resolved = on_resolved

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
        scopes = self._scopes(refs)
        if self.on_resolved is not None:
            self.on_resolved({ref: scope.ref for ref, scope in zip(refs, scopes, strict=True)})
        gateway = self.gateway or PlatformModelGateway(workspace=self.workspace_id, source=UsageSource.RUN)
        hits = knowledge_search(
            knowledge_bases=scopes, query=query, mode=mode, top_k=top_k, score_threshold=score_threshold,
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

    def _scopes(self, refs: list[str]) -> list[KnowledgeScope]:
        """Each reference resolved now (a label to the version it points at)."""
        return [knowledge_scope_resolve(workspace_id=self.workspace_id, ref=ref) for ref in refs]
