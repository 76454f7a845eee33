"""Optional rerank of search candidates through a ``rerank`` model endpoint, by the metered gateway.

The call (the Cohere/Jina ``/rerank`` protocol, SSRF-guarded), the endpoint's retries with Retry-After,
fallbacks and limits, and the usage row (operation ``rerank``) are the gateway's
(:meth:`llmops.providers.gateway.PlatformModelGateway.rerank`). A search made for a caller (a workflow run's
retriever) passes its :class:`SearchMetering`; otherwise the row is attributed like the search's query
embedding: to the knowledge base (source ``ingest``, node ``knowledge:<slug>``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from asgiref.sync import async_to_sync

from llmops.core.errors import ValidationError
from llmops.knowledge.models import KnowledgeBase
from llmops.providers.gateway import EndpointTypeMismatch, PlatformModelGateway
from llmops.usage.models import UsageSource
from workflows import CallContext


@dataclass(frozen=True, slots=True)
class SearchMetering:
    """Who a search's model calls are metered for: a gateway (workspace, source, deployment, key, end user)
    and the call context (run and node)."""

    gateway: PlatformModelGateway
    context: CallContext


def knowledge_base_metering(knowledge_base: KnowledgeBase) -> SearchMetering:
    """The knowledge base's own attribution, as its ingestion and query embeddings have."""
    gateway = PlatformModelGateway(workspace=knowledge_base.workspace_id, source=UsageSource.INGEST)
    return SearchMetering(gateway, CallContext(run_id="", node_id=f"knowledge:{knowledge_base.slug}"))


def rerank_scores(
    *,
    knowledge_base: KnowledgeBase,
    model_ref: str,
    query: str,
    texts: Sequence[str],
    metering: SearchMetering | None = None,
) -> list[float]:
    """A relevance score in [0, 1] per text (in input order) from the rerank endpoint ``model_ref``.

    A failing endpoint raises the gateway's ``ModelCallError`` (HTTP 503) naming it and the cause.
    """
    if not texts:
        return []
    metering = metering or knowledge_base_metering(knowledge_base)
    rerank = async_to_sync(metering.gateway.rerank)
    try:
        return rerank(model_ref, query, list(texts), metering.context).scores
    except EndpointTypeMismatch:
        raise ValidationError(
            f"{model_ref!r} is not a rerank endpoint.", fields={"rerank_model": ["Not rerank."]}
        ) from None
