"""knowledge_retrieval: searches knowledge bases through the Retriever port."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from workflows._ports import Retriever
from workflows.nodes._base import NodeConfig, NodeContext, NodeKind, NodeResult, Template


class KnowledgeRetrievalConfig(NodeConfig):
    """Search settings; ``filters`` match chunk metadata exactly."""

    query: Template
    knowledge_base_ids: list[str] = Field(min_length=1)
    top_k: int = Field(default=4, ge=1, le=100)
    score_threshold: float | None = Field(default=None, ge=0, le=1)
    mode: Literal["vector", "full_text", "hybrid"] = "hybrid"
    filters: dict[str, Any] = Field(default_factory=dict)


class KnowledgeRetrievalNode(NodeKind[KnowledgeRetrievalConfig]):
    """Outputs ``result`` (chunks: text, score, document_title, position, metadata) and ``context``."""

    type = "knowledge_retrieval"
    config_model = KnowledgeRetrievalConfig
    description = "Retrieves passages from knowledge bases."

    def outputs(self, config: KnowledgeRetrievalConfig) -> Mapping[str, str] | None:
        return {"result": "array", "context": "string"}

    async def run(self, config: KnowledgeRetrievalConfig, ctx: NodeContext) -> NodeResult:
        retriever: Retriever = ctx.port("retriever")
        query = ctx.render(config.query)
        chunks = await retriever.retrieve(
            config.knowledge_base_ids,
            query,
            top_k=config.top_k,
            score_threshold=config.score_threshold,
            mode=config.mode,
            filters=config.filters,
            context=ctx.call,
        )
        context = "\n\n".join(chunk.text for chunk in chunks)
        return NodeResult({"result": [chunk.to_dict() for chunk in chunks], "context": context})
