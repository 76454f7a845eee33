"""Search across knowledge bases (hit testing, the Retriever port, the Dify external-knowledge API).

Vectors are searched with the settings of the *searchable* generation (``active_embedding_model``,
``active_distance``, ``dims``): while a knowledge base re-embeds, the query is embedded with the previous
endpoint and compared with the previous, complete vectors, until the knowledge base switches to the new ones
all at once (``llmops.knowledge.models``). Embedding the query and reading the chunks are two steps; a search
that a switch falls between runs again with the new settings, so it never reads one generation with the
other's query vector.

When the previous vectors cannot be searched during a re-embed (the previous endpoint is gone, unreachable,
or now answers another dimension, typically the very reason it was replaced), comparing the new endpoint's
query vector with them would be meaningless and the new vectors are not complete. The knowledge base's vector
half is then left out and the search says so in ``SearchResult.notices``: hybrid search answers with its
full-text half, and a vector-only search that has no knowledge base left to search raises
``ServiceUnavailable`` (503) with the reason, rather than answering an empty list that looks like "nothing
matched". Outside a re-embed an embedding failure is raised as before.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmops.core.errors import LLMOpsError, ServiceUnavailable, ValidationError
from llmops.knowledge.ingestion import embed_texts
from llmops.knowledge.models import KnowledgeBase, RetrievalMode
from llmops.knowledge.rerank import SearchMetering, rerank_scores
from llmops.knowledge.search_queries import (
    HYBRID_CANDIDATES_FACTOR,
    RERANK_CANDIDATES,
    Hit,
    full_text_search,
    fuse,
    parent_texts,
    vector_search,
)
from llmops.knowledge.versions import KnowledgeScope

logger = logging.getLogger(__name__)
SWITCH_ATTEMPTS = 3  # a search overtaken by a switch this many times in a row keeps its last answer


@dataclass(slots=True)
class SearchResult:
    """Hits, best first, and notices about knowledge bases whose vectors could not be searched."""

    hits: list[Hit]
    notices: list[str] = field(default_factory=list)


Searched = KnowledgeBase | KnowledgeScope


def _scopes(searched: Sequence[Searched]) -> list[KnowledgeScope]:
    """Knowledge bases as their heads; scopes (a head or a published version) as they are."""
    return [s if isinstance(s, KnowledgeScope) else KnowledgeScope(s) for s in searched]


def _unavailable(scopes: Sequence[KnowledgeScope], model: str, reason: str) -> str:
    slugs = ", ".join(repr(s.knowledge_base.slug) for s in scopes)
    new = ", ".join(sorted({repr(s.knowledge_base.embedding_model) for s in scopes}))
    return (
        f"Vector search of {slugs} is unavailable: re-embedding with {new} is not complete and the previous "
        f"endpoint {model!r} {reason}. Full-text search still works."
    )


def _by_scope(
    scopes: Sequence[KnowledgeScope], search: Callable[[list[int], list[int] | None], list[Hit]], limit: int
) -> list[Hit]:
    """One query for the heads among ``scopes`` and one for the published versions (their document generations),
    merged best first (a chunk two versions share counts once)."""
    heads = [s.knowledge_base.pk for s in scopes if s.version is None]
    pinned = [s for s in scopes if s.version is not None]
    hits = search(heads, None) if heads else []
    if pinned:
        keys = sorted({key for s in pinned for key in s.pinned_keys})
        hits += search(list({s.knowledge_base.pk for s in pinned}), keys)
    unique = {hit.chunk_id: hit for hit in sorted(hits, key=lambda h: h.score)}
    return sorted(unique.values(), key=lambda h: -h.score)[:limit]


def _vector_hits(
    scopes: Sequence[KnowledgeScope], query: str, limit: int, filters: dict[str, Any] | None
) -> tuple[list[Hit], list[str], int]:
    """Vector hits over knowledge bases grouped by their searchable (model, dims, distance): one query
    embedding per model; with notices, and how many knowledge bases were searched."""
    groups: dict[tuple[str, str, int | None], list[KnowledgeScope]] = defaultdict(list)
    for scope in scopes:
        model, _, dims = scope.space
        if dims and model:
            groups[scope.space].append(scope)
    hits: list[Hit] = []
    notices: list[str] = []
    searched = 0
    for (model, distance, dims), group in groups.items():
        try:
            vector = embed_texts(group[0].knowledge_base, [query], model=model)[0]
        except LLMOpsError as exc:
            if not all(s.reembedding for s in group):
                raise
            notices.append(_unavailable(group, model, f"cannot embed the query ({exc.message})"))
            continue
        if len(vector) != dims:
            notices.append(_unavailable(group, model, f"now answers {len(vector)} dimensions, not {dims}"))
            continue
        searched += len(group)

        def legs(
            kbs: list[int],
            pinned: list[int] | None,
            v: list[float] = vector,
            m: str = model,
            d: str = distance,
        ) -> list[Hit]:
            return vector_search(
                kb_ids=kbs,
                vector=v,
                distance=d,
                limit=limit,
                filters=filters,
                embedding_model=m,
                pinned=pinned,
            )

        hits += _by_scope(group, legs, limit)
    return sorted(hits, key=lambda h: -h.score)[:limit], notices, searched


def _switched(scopes: Sequence[KnowledgeScope]) -> list[KnowledgeScope] | None:
    """The scopes with their heads reloaded if any head switched its searchable vectors since it was loaded
    (a published version never does)."""
    fresh = KnowledgeBase.objects.in_bulk([s.knowledge_base.pk for s in scopes if s.version is None])
    if all(
        s.version is not None
        or (s.knowledge_base.pk in fresh and KnowledgeScope(fresh[s.knowledge_base.pk]).space == s.space)
        for s in scopes
    ):
        return None
    return [
        s if s.version is not None else KnowledgeScope(fresh[s.knowledge_base.pk])
        for s in scopes
        if s.version is not None or s.knowledge_base.pk in fresh
    ]


def _both_modes(
    scopes: Sequence[KnowledgeScope],
    query: str,
    mode: str,
    limit: int,
    filters: dict[str, Any] | None,
) -> tuple[list[Hit], list[Hit], list[str], int]:
    vector: tuple[list[Hit], list[str], int] = ([], [], 0)
    if mode != RetrievalMode.FULL_TEXT:
        vector = _vector_hits(scopes, query, limit, filters)
    text_hits: list[Hit] = []
    if mode != RetrievalMode.VECTOR:
        text_hits = _by_scope(
            scopes,
            lambda kbs, pinned: full_text_search(
                kb_ids=kbs, query=query, limit=limit, filters=filters, pinned=pinned
            ),
            limit,
        )
    return vector[0], text_hits, vector[1], vector[2]


def _candidates(
    scopes: Sequence[KnowledgeScope],
    query: str,
    mode: str,
    limit: int,
    filters: dict[str, Any] | None,
) -> tuple[list[Hit], list[Hit], list[str]]:
    """Both modes' candidates, searched again when a switch of generations fell between the steps."""
    for _ in range(SWITCH_ATTEMPTS):
        vector_hits, text_hits, notices, searched = _both_modes(scopes, query, mode, limit, filters)
        fresh = _switched(scopes) if mode != RetrievalMode.FULL_TEXT else None
        if fresh is None:
            break
        scopes = fresh
    if mode == RetrievalMode.VECTOR and notices and not searched:
        raise ServiceUnavailable(" ".join(notices))
    return vector_hits, text_hits, notices


def knowledge_search_result(
    *,
    knowledge_bases: Sequence[Searched],
    query: str,
    mode: str | None = None,
    top_k: int | None = None,
    score_threshold: float | None = None,
    filters: dict[str, Any] | None = None,
    metering: SearchMetering | None = None,
) -> SearchResult:
    """The best chunks for ``query``, best first, each with its final score and per-mode scores, and notices
    about vector halves that could not be searched (see the module docstring).

    ``knowledge_bases`` are heads, or ``KnowledgeScope``s (a head or a published version: ``versions``).
    Settings not given come from the first one's retrieval settings. In parent-child mode a hit's
    ``text`` is its parent's text (the child that matched is kept in ``metadata["matched_text"]``). The
    rerank call is metered for ``metering`` (a caller's run), by default for the knowledge base.
    """
    if not knowledge_bases or not query.strip():
        return SearchResult([])
    scopes = _scopes(knowledge_bases)
    settings = scopes[0].retrieval
    mode = mode or settings["mode"]
    top_k = int(top_k or settings["top_k"])
    threshold = score_threshold if score_threshold is not None else settings.get("score_threshold")
    if mode not in RetrievalMode.values:
        raise ValidationError(
            f"Unknown retrieval mode {mode!r}.", fields={"mode": [f"One of {RetrievalMode.values}."]}
        )
    rerank = bool(settings.get("rerank_model"))
    # With a rerank stage, the fused top RERANK_CANDIDATES (at least top_k) go to the reranker, top_k come back.
    shortlist = max(top_k, RERANK_CANDIDATES) if rerank else top_k
    # Hybrid fetches more per mode than it keeps, so fusion can promote a chunk one mode ranks lower.
    candidates = shortlist * HYBRID_CANDIDATES_FACTOR if mode == RetrievalMode.HYBRID else shortlist
    vector_hits, text_hits, notices = _candidates(scopes, query, mode, candidates, filters)
    if mode == RetrievalMode.HYBRID:
        hits = fuse(
            vector_hits,
            text_hits,
            fusion=settings.get("fusion", "zscore"),
            vector_weight=float(settings.get("vector_weight", 0.75)),
            limit=shortlist,
        )
    else:
        hits = (vector_hits or text_hits)[:shortlist]
    if rerank:
        hits = _reranked(scopes[0].knowledge_base, settings["rerank_model"], query, hits, top_k, metering)
    if threshold:
        hits = [hit for hit in hits if hit.score >= threshold]
    _with_parents(hits)
    return SearchResult(hits, notices)


def knowledge_search(
    *,
    knowledge_bases: Sequence[Searched],
    query: str,
    mode: str | None = None,
    top_k: int | None = None,
    score_threshold: float | None = None,
    filters: dict[str, Any] | None = None,
    metering: SearchMetering | None = None,
) -> list[Hit]:
    """``knowledge_search_result``'s hits, for callers that cannot show notices (they are logged)."""
    result = knowledge_search_result(
        knowledge_bases=knowledge_bases, query=query, mode=mode, top_k=top_k, score_threshold=score_threshold,
        filters=filters, metering=metering,
    )  # fmt: skip
    for notice in result.notices:
        logger.warning("knowledge search: %s", notice)
    return result.hits


def _reranked(
    kb: KnowledgeBase,
    model: str,
    query: str,
    shortlist: list[Hit],
    top_k: int,
    metering: SearchMetering | None,
) -> list[Hit]:
    """Rerank the fused shortlist (the best RERANK_CANDIDATES), keep the best ``top_k``."""
    if not shortlist:
        return shortlist
    scores = rerank_scores(
        knowledge_base=kb, model_ref=model, query=query, texts=[h.text for h in shortlist], metering=metering
    )
    for hit, score in zip(shortlist, scores, strict=True):
        hit.scores = {**hit.scores, "rerank": score}
        hit.score = score
    return sorted(shortlist, key=lambda h: (-h.score, h.chunk_id))[:top_k]


def _with_parents(hits: list[Hit]) -> None:
    parents = parent_texts(hits)
    for hit in hits:
        if hit.parent_position is None:
            continue
        parent = parents.get((hit.document_id, hit.generation, hit.parent_position))
        if parent is not None:
            hit.metadata = {**hit.metadata, "matched_text": hit.text}
            hit.text = parent
