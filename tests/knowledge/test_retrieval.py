"""Retrieval in English and Chinese: vector, full text, hybrid; filters, thresholds, citations, isolation."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading

import pytest
from django.db import connection

from llmops.core.errors import NotFound
from llmops.knowledge.engine_retriever import PlatformRetriever
from llmops.knowledge.models import Chunk, KnowledgeBase
from llmops.knowledge.search import knowledge_search
from llmops.knowledge.services import chunk_update
from tests.accounts.factories import WorkspaceFactory
from tests.knowledge.conftest import ingest_text
from tests.knowledge.corpus import PASSAGES, QUERIES
from tests.providers.factories import ModelEndpointFactory, endpoint_config
from workflows import CallContext

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def corpus(kb: KnowledgeBase) -> KnowledgeBase:
    for key, text in PASSAGES.items():
        ingest_text(kb, key, text, lang="zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en")
    kb.refresh_from_db()
    return kb


def mrr(kb: KnowledgeBase, mode: str, queries: list[tuple[str, str]] = QUERIES) -> float:
    """Mean reciprocal rank of the expected passage in the top 3."""
    total = 0.0
    for query, key in queries:
        titles = [
            h.document_title for h in knowledge_search(knowledge_bases=[kb], query=query, mode=mode, top_k=3)
        ]
        total += 1 / (titles.index(key) + 1) if key in titles else 0.0
    return total / len(queries)


@pytest.mark.parametrize("fusion", ["rrf", "weighted"])
def test_hybrid_beats_each_single_mode_on_the_bilingual_corpus(corpus: KnowledgeBase, fusion: str) -> None:
    # (English-only MiniLM asked in Chinese too: the fusions that lean on full text; the default, zscore, is
    # measured with the multilingual model on the retrieval set: test_retrieval_quality.py)
    corpus.retrieval = {**corpus.retrieval, "fusion": fusion}
    vector, full_text, hybrid = (mrr(corpus, mode) for mode in ("vector", "full_text", "hybrid"))
    assert hybrid > vector and hybrid > full_text, (vector, full_text, hybrid)


def test_chinese_queries_are_found_by_segmented_full_text(corpus: KnowledgeBase) -> None:
    chinese = [(q, k) for q, k in QUERIES if any("\u4e00" <= ch <= "\u9fff" for ch in q)]
    assert mrr(corpus, "full_text", chinese) == 1.0
    assert mrr(corpus, "hybrid", chinese) >= mrr(corpus, "vector", chinese)


def test_jieba_full_text_retrieves_chinese_better_than_trigram_matching(corpus: KnowledgeBase) -> None:
    # the measurement behind the design: pg_trgm needs three shared characters in one "word", and a
    # Chinese sentence is one long word to it, so short Chinese queries barely match
    chinese = [(q, k) for q, k in QUERIES if any("\u4e00" <= ch <= "\u9fff" for ch in q)]
    found = 0
    with connection.cursor() as cursor:
        for query, key in chinese:
            cursor.execute(
                "SELECT d.title FROM knowledge_chunk c JOIN knowledge_document d ON d.id = c.document_id "
                "WHERE c.knowledge_base_id = %s AND word_similarity(%s, c.text) > 0.1 "
                "ORDER BY word_similarity(%s, c.text) DESC LIMIT 1",
                [corpus.pk, query, query],
            )
            found += [row[0] for row in cursor.fetchall()] == [key]
    trigram_hit_rate = found / len(chinese)
    assert mrr(corpus, "full_text", chinese) > trigram_hit_rate


def test_english_full_text_uses_stemming(corpus: KnowledgeBase) -> None:
    hits = knowledge_search(knowledge_bases=[corpus], query="owl hunting", mode="full_text", top_k=1)
    assert [h.document_title for h in hits] == ["owls"]


def test_hits_carry_text_score_title_position_and_per_mode_scores(corpus: KnowledgeBase) -> None:
    hit = knowledge_search(knowledge_bases=[corpus], query="熊猫吃竹子", mode="hybrid", top_k=1)[0]
    assert hit.document_title == "panda" and "竹子" in hit.text and hit.position == 0
    assert 0 < hit.score <= 1 and set(hit.scores) == {"vector", "full_text"}


def test_metadata_filters_still_return_top_k(corpus: KnowledgeBase) -> None:
    hits = knowledge_search(
        knowledge_bases=[corpus], query="birds", mode="vector", top_k=5, filters={"lang": "zh"}
    )
    assert len(hits) == 5 and all(h.metadata["lang"] == "zh" for h in hits)


def test_score_threshold_drops_weak_hits(corpus: KnowledgeBase) -> None:
    hits = knowledge_search(
        knowledge_bases=[corpus], query="bread oven yeast", mode="vector", top_k=10, score_threshold=0.5
    )
    assert [h.document_title for h in hits] == ["bread"]


def test_disabled_chunks_are_not_retrieved(corpus: KnowledgeBase) -> None:
    chunk = Chunk.objects.get(document__title="zorblat")
    chunk_update(chunk=chunk, enabled=False)
    hits = knowledge_search(knowledge_bases=[corpus], query="zorblat", mode="hybrid", top_k=3)
    assert "zorblat" not in [h.document_title for h in hits]


def test_parent_child_mode_returns_the_parent_passage(kb: KnowledgeBase) -> None:
    kb.chunking = {
        **kb.chunking,
        "parent_child": True,
        "chunk_size": 80,
        "chunk_overlap": 0,
        "parent_chunk_size": 1000,
    }
    kb.save()
    text = (
        "Intro about the farm and its long history. " * 3 + "The tractor engine needs diesel every morning."
    )
    ingest_text(kb, "farm", text)
    kb.refresh_from_db()
    hit = knowledge_search(knowledge_bases=[kb], query="tractor diesel", mode="full_text", top_k=1)[0]
    assert "Intro about the farm" in hit.text and "tractor" in hit.metadata["matched_text"]


def test_retriever_port_is_scoped_to_its_workspace(corpus: KnowledgeBase) -> None:
    context = CallContext(run_id="r", node_id="n")
    mine = PlatformRetriever(workspace_id=corpus.workspace_id)
    chunks = asyncio.run(
        mine.retrieve(
            ["docs"], "退货", top_k=2, score_threshold=None, mode="hybrid", filters={}, context=context
        )
    )
    assert chunks[0].document_title == "refund" and chunks[0].metadata["chunk_id"]
    other = PlatformRetriever(workspace_id=WorkspaceFactory.create().pk)
    with pytest.raises(NotFound):
        asyncio.run(
            other.retrieve(
                [str(corpus.pk)],
                "退货",
                top_k=2,
                score_threshold=None,
                mode="hybrid",
                filters={},
                context=context,
            )
        )


def test_rerank_endpoint_reorders_the_candidates(corpus: KnowledgeBase) -> None:
    # given: a scripted /rerank server that prefers passages mentioning "bread"
    sent: list[int] = []

    class Rerank(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            sent.append(len(body["documents"]))
            results = [
                {"index": i, "relevance_score": 0.9 if "bread" in doc else 0.1}
                for i, doc in enumerate(body["documents"])
            ]
            payload = json.dumps({"results": results}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Rerank)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ModelEndpointFactory.create(
        workspace=corpus.workspace, slug="rr",
        draft=endpoint_config(base_url=f"http://127.0.0.1:{server.server_port}/v1", model="rr", model_type="rerank"),
    )  # fmt: skip
    corpus.retrieval = {**corpus.retrieval, "rerank_model": "rr"}
    try:
        # when: a query whose best plain match is not the bread passage
        hits = knowledge_search(
            knowledge_bases=[corpus], query="bake something in a hot volcano oven", top_k=2
        )
    finally:
        server.shutdown()
    # then: the fused shortlist (at most 10 candidates) was reranked and the bread passage came first
    assert hits[0].document_title == "bread" and hits[0].scores["rerank"] == 0.9 and hits[0].score == 0.9
    assert len(sent) == 1 and 2 < sent[0] <= 10
