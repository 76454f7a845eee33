"""Search across knowledge bases (hit testing, the Retriever port, the Dify external-knowledge API)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from llmops.core.errors import ValidationError
from llmops.knowledge.ingestion import embed_texts
from llmops.knowledge.models import KnowledgeBase, RetrievalMode
from llmops.knowledge.rerank import rerank_scores
from llmops.knowledge.retrieval import (
    HYBRID_CANDIDATES_FACTOR,
    Hit,
    full_text_search,
    fuse,
    parent_texts,
    vector_search,
)


def _vector_hits(
    knowledge_bases: Sequence[KnowledgeBase], query: str, limit: int, filters: dict[str, Any] | None
) -> list[Hit]:
    """Vector hits over knowledge bases grouped by (model, dims, distance): one query embedding per model."""
    groups: dict[tuple[str, int, str], list[KnowledgeBase]] = defaultdict(list)
    for kb in knowledge_bases:
        if kb.dims:
            groups[(kb.embedding_model, kb.dims, kb.distance)].append(kb)
    hits: list[Hit] = []
    for (model, _, distance), kbs in groups.items():
        vector = embed_texts(kbs[0], [query])[0]
        if len(vector) != kbs[0].dims:
            continue  # the endpoint changed and re-embedding is under way; its new vectors are not ready
        ids = [kb.pk for kb in kbs]
        hits += vector_search(
            kb_ids=ids, vector=vector, distance=distance, limit=limit, filters=filters, embedding_model=model
        )
    return sorted(hits, key=lambda h: -h.score)[:limit]


def knowledge_search(
    *,
    knowledge_bases: Sequence[KnowledgeBase],
    query: str,
    mode: str | None = None,
    top_k: int | None = None,
    score_threshold: float | None = None,
    filters: dict[str, Any] | None = None,
) -> list[Hit]:
    """The best chunks for ``query``, best first, each with its final score and per-mode scores.

    Settings not given come from the first knowledge base's retrieval settings. In parent-child mode a hit's
    ``text`` is its parent's text (the child that matched is kept in ``metadata["matched_text"]``).
    """
    if not knowledge_bases or not query.strip():
        return []
    settings = knowledge_bases[0].retrieval
    mode = mode or settings["mode"]
    top_k = int(top_k or settings["top_k"])
    threshold = score_threshold if score_threshold is not None else settings.get("score_threshold")
    if mode not in RetrievalMode.values:
        raise ValidationError(
            f"Unknown retrieval mode {mode!r}.", fields={"mode": [f"One of {RetrievalMode.values}."]}
        )
    kb_ids = [kb.pk for kb in knowledge_bases]
    widen = mode == RetrievalMode.HYBRID or bool(settings.get("rerank_model"))
    candidates = top_k * HYBRID_CANDIDATES_FACTOR if widen else top_k
    vector_hits = _vector_hits(knowledge_bases, query, candidates, filters) if mode != "full_text" else []
    text_hits = (
        full_text_search(kb_ids=kb_ids, query=query, limit=candidates, filters=filters)
        if mode != "vector"
        else []
    )
    if mode == RetrievalMode.HYBRID:
        hits = fuse(
            vector_hits,
            text_hits,
            fusion=settings.get("fusion", "rrf"),
            vector_weight=float(settings.get("vector_weight", 0.7)),
            limit=top_k,
        )
    else:
        hits = (vector_hits or text_hits)[:top_k]
    if settings.get("rerank_model"):
        hits = _reranked(
            knowledge_bases[0], settings["rerank_model"], query, vector_hits, text_hits, hits, top_k
        )
    if threshold:
        hits = [hit for hit in hits if hit.score >= threshold]
    _with_parents(hits)
    return hits


def _reranked(
    kb: KnowledgeBase,
    model: str,
    query: str,
    vector_hits: list[Hit],
    text_hits: list[Hit],
    hits: list[Hit],
    top_k: int,
) -> list[Hit]:
    """Rerank every candidate the modes found (not only the fused top_k), keep the best ``top_k``."""
    fused = {hit.chunk_id: hit for hit in hits}
    candidates = {hit.chunk_id: fused.get(hit.chunk_id, hit) for hit in [*vector_hits, *text_hits]} or fused
    pool = list(candidates.values())
    scores = rerank_scores(
        workspace_id=kb.workspace_id, model_ref=model, query=query, texts=[h.text for h in pool]
    )
    for hit, score in zip(pool, scores, strict=True):
        hit.scores = {**hit.scores, "rerank": score}
        hit.score = score
    return sorted(pool, key=lambda h: (-h.score, h.chunk_id))[:top_k]


def _with_parents(hits: list[Hit]) -> None:
    parents = parent_texts(hits)
    for hit in hits:
        if hit.parent_position is None:
            continue
        parent = parents.get((hit.document_id, hit.parent_position))
        if parent is not None:
            hit.metadata = {**hit.metadata, "matched_text": hit.text}
            hit.text = parent
