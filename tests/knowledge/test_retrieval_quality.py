"""Retrieval quality: the metrics, and a floor on a slice of the bilingual set with the real local models."""

from __future__ import annotations

import math
import os

import pytest

from llmops.accounts.models import Workspace
from llmops.knowledge.models import KnowledgeBase
from llmops.knowledge.retrieval_quality import figures, measure, rank_of, search_texts, table
from tests.knowledge import retrieval_set
from tests.knowledge.factories import KnowledgeBaseFactory, multilingual_embedding_endpoint


def test_rank_of_finds_the_first_text_holding_the_answer_ignoring_spaces_and_case() -> None:
    texts = ["nothing here", "The first stage returns\nthe TOP 20 candidate chunks.", "returns the top 20"]
    assert rank_of(texts, "returns the top 20 candidate chunks") == 2
    assert rank_of(texts, "重排序") is None
    assert rank_of(["切块 大小 为 512"], "切块大小为512") == 1
    assert rank_of(texts, "  ") is None


def test_figures_are_hit_rates_mean_reciprocal_rank_and_ndcg() -> None:
    result = figures([1, 2, None, 11])
    assert result.questions == 4
    assert result.hit_at == {1: 0.25, 3: 0.5, 5: 0.5, 10: 0.5}
    assert result.mrr == pytest.approx((1 + 1 / 2 + 1 / 11) / 4)
    assert result.ndcg_at_10 == pytest.approx((1 + 1 / math.log2(3)) / 4)  # rank 11 is beyond nDCG@10
    assert figures([]).mrr == 0.0


SLICE = {
    "zh-chunking.md",
    "zh-embeddings.md",
    "zh-word-segmentation.md",
    "en-rag-pipeline.md",
    "en-vector-indexes.md",
}


@pytest.fixture
def retrieval_kb(workspace: Workspace, local_embedding_model_url: str) -> KnowledgeBase:
    multilingual_embedding_endpoint(workspace, local_embedding_model_url)
    return KnowledgeBaseFactory.create(workspace=workspace, slug="notes", embedding_model="multilingual")


@pytest.mark.django_db(transaction=True)
def test_hybrid_search_finds_the_answer_on_a_bilingual_slice(retrieval_kb: KnowledgeBase) -> None:
    everything = os.environ.get("LLMOPS_RETRIEVAL_SET") == "all"  # a developer's full run, with -s
    names = retrieval_set.document_names() if everything else sorted(SLICE)
    retrieval_set.ingest(retrieval_kb, names)
    questions = retrieval_set.questions(set(names))
    reports = measure(search_texts([retrieval_kb]), questions)
    print("\n".join(table(reports)))
    hybrid, vector, text = (reports[m].overall for m in ("hybrid", "vector", "full_text"))
    assert len(questions) >= 25
    assert hybrid.hit_at[5] >= 0.85
    assert hybrid.mrr > max(vector.mrr, text.mrr)  # fusion adds to the better single mode
    assert all(report.by_lang["zh"].hit_at[10] >= 0.8 for report in (reports["hybrid"], reports["vector"]))
