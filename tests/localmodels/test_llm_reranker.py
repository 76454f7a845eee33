"""The local reranker: the embeddings server's ``/v1/rerank`` (model ``qwen-rerank``) asks the real instruction
model (Qwen2.5-Coder-1.5B-Instruct on llama-server) whether each passage answers the question and scores
P("是/yes") from the first token's logprobs; a knowledge base reranked by it puts the answer first."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from devservices.localmodels import running_embedding_server
from devservices.localmodels.config import RERANK_MODEL
from devservices.localmodels.embedding_server import make_server
from devservices.localmodels.llm_reranker import LLMReranker
from devservices.localmodels.processes import free_port
from llmops.accounts.models import Workspace
from llmops.knowledge.models import default_retrieval
from llmops.knowledge.search import knowledge_search
from llmops.usage.models import UsageRecord
from tests.knowledge.conftest import ingest_text
from tests.knowledge.corpus import PASSAGES
from tests.knowledge.factories import KnowledgeBaseFactory, embedding_endpoint
from tests.providers.factories import ModelEndpointFactory, endpoint_config

pytestmark = pytest.mark.integration

# (question, four passages, index of the one that answers it): one on the same topic that does not answer,
# two off-topic.
CHINESE = (
    "退货的运费由谁承担？",
    [
        "退款会在审核通过后五个工作日内原路退回。",
        "龙井茶产自杭州西湖一带，采摘后需要经过杀青和炒制才能保持清香。",
        "用户在签收商品后七天内可以申请无理由退货，运费由商家承担。",
        "Office Wi-Fi password rotation happens on the first Monday of every month.",
    ],
    2,
)
ENGLISH = (
    "How long after delivery can a customer still ask for a refund?",
    [
        "Refunds are paid back to the original card and usually appear within five business days.",
        "Owls are nocturnal birds of prey that hunt small rodents in darkness using silent flight.",
        "The KX-9 valve assembly is torqued to 45 newton metres during the quarterly maintenance window.",
        "Customers may request a refund within 30 days of delivery; after that only store credit is offered.",
    ],
    3,
)


@pytest.fixture(scope="module")
def rerank_url(local_instruct_model_url: str) -> Iterator[str]:
    """A local embeddings server whose ``/v1/rerank`` asks the real instruction model."""
    with running_embedding_server(rerank_chat_url=local_instruct_model_url) as url:
        yield url


def rerank(url: str, body: Any) -> tuple[int, dict[str, Any]]:
    response = httpx.post(f"{url}/rerank", json=body, timeout=300)
    return response.status_code, response.json()


@pytest.mark.parametrize(("question", "passages", "answer"), [CHINESE, ENGLISH], ids=["zh", "en"])
def test_the_passage_that_answers_the_question_scores_highest(
    rerank_url: str, question: str, passages: list[str], answer: int
) -> None:
    # when
    started = time.perf_counter()
    status, body = rerank(rerank_url, {"model": RERANK_MODEL, "query": question, "documents": passages})
    seconds = time.perf_counter() - started
    # then
    assert status == 200, body
    scores = {row["index"]: row["relevance_score"] for row in body["results"]}
    assert body["results"][0]["index"] == answer, scores
    assert sorted(scores) == [0, 1, 2, 3] and all(0.0 <= score <= 1.0 for score in scores.values())
    assert scores[answer] >= 0.5 and min(scores.values()) < 0.5, scores
    assert body["usage"]["total_tokens"] > 0 and body["timings"]["pairs"] == 4
    print(
        f"\nrerank ({question[:12]}...): 4 pairs in {seconds:.2f} s, {seconds / 4:.2f} s per pair"
        f" (server: {body['timings']['seconds_per_pair']} s), {body['usage']['total_tokens']} tokens"
    )


def test_top_n_and_return_documents_shape_the_answer_as_cohere_and_jina_do(rerank_url: str) -> None:
    # when: two short passages, the best one only, with its text
    question, passages = (
        "熊猫吃什么？",
        ["大熊猫每天要花十几个小时吃竹子。", "The KX-9 valve is torqued to 45 Nm."],
    )
    status, body = rerank(
        rerank_url,
        {"model": RERANK_MODEL, "query": question, "documents": [{"text": text} for text in passages],
         "top_n": 1, "return_documents": True},
    )  # fmt: skip
    # then
    assert status == 200, body
    (best,) = body["results"]
    assert best["index"] == 0 and best["document"] == {"text": passages[0]}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ([], None),
        ({"query": "q", "documents": ["d"]}, "model"),
        ({"model": RERANK_MODEL, "documents": ["d"]}, "query"),
        ({"model": RERANK_MODEL, "query": "  ", "documents": ["d"]}, "query"),
        ({"model": RERANK_MODEL, "query": "q", "documents": []}, "documents"),
        ({"model": RERANK_MODEL, "query": "q", "documents": "d"}, "documents"),
        ({"model": RERANK_MODEL, "query": "q", "documents": ["d", 7]}, "documents"),
        ({"model": RERANK_MODEL, "query": "q", "documents": ["d"] * 101}, "documents"),
        ({"model": RERANK_MODEL, "query": "q", "documents": ["d"], "top_n": 0}, "top_n"),
    ],
)
def test_a_bad_rerank_request_answers_400_naming_the_field(
    rerank_url: str, body: Any, param: str | None
) -> None:
    status, answer = rerank(rerank_url, body)
    assert status == 400, answer
    assert answer["error"]["param"] == param and answer["error"]["type"] == "invalid_request_error"


def test_an_unknown_rerank_model_answers_404(rerank_url: str) -> None:
    status, answer = rerank(rerank_url, {"model": "bge-reranker", "query": "q", "documents": ["d"]})
    assert status == 404 and answer["error"]["code"] == "model_not_found"
    assert RERANK_MODEL in answer["error"]["message"]


def test_a_chat_server_that_is_down_answers_503_with_the_reason() -> None:
    # given: a reranker whose chat server port has nothing listening
    dead = f"http://127.0.0.1:{free_port()}/v1"
    server = make_server(0, encoders={}, quiet=True, reranker=LLMReranker(dead))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        # when
        status, answer = rerank(
            f"http://127.0.0.1:{server.server_address[1]}/v1",
            {"model": RERANK_MODEL, "query": "q", "documents": ["a passage"]},
        )
    finally:
        server.shutdown()
        server.server_close()
    # then
    assert status == 503
    message = answer["error"]["message"]
    assert dead in message and "unreachable" in message and "refused" in message.lower()


def test_a_long_passage_is_cut_to_the_window_that_holds_the_questions_words(
    local_instruct_model_url: str,
) -> None:
    # given: a long passage whose answer sits in its middle
    reranker = LLMReranker(local_instruct_model_url)
    filler = "大熊猫主要生活在四川的山区竹林中，每天要花十几个小时吃竹子。"
    answer = "用户在签收商品后七天内可以申请无理由退货，运费由商家承担。"
    passage = filler * 6 + answer + filler * 6
    focus = reranker.focus("退货的运费由谁承担？")
    # when
    window = reranker.excerpt(passage, 24, focus)
    head = reranker.excerpt(passage, 24)
    # then: whole characters, at most 24 tokens by the model's tokenizer; the answer with the question's
    # words, the head without
    tokens = httpx.post(
        local_instruct_model_url.removesuffix("/v1") + "/tokenize", json={"content": window}, timeout=30
    ).json()["tokens"]
    assert window in passage and len(tokens) <= 24 and "运费由商家承担" in window, window
    assert passage.startswith(head) and "运费" not in head
    assert reranker.excerpt("short", 24, focus) == "short"


@pytest.mark.django_db(transaction=True)
def test_a_knowledge_base_reranked_by_the_local_model_puts_the_answer_first_and_meters_it(
    workspace: Workspace, rerank_url: str
) -> None:
    # given: a knowledge base (MiniLM embeddings on the same local server) reranked by local-rerank
    embedding_endpoint(workspace, rerank_url)
    draft = endpoint_config(
        base_url=rerank_url, model=RERANK_MODEL, model_type="rerank", timeout_seconds=300,
        prices={"input": 0.0, "output": 0.0},
    )  # fmt: skip
    ModelEndpointFactory.create(workspace=workspace, slug="local-rerank", draft=draft)
    kb = KnowledgeBaseFactory.create(
        workspace=workspace, slug="docs", retrieval={**default_retrieval(), "rerank_model": "local-rerank"}
    )
    for key in ("invoice", "tea", "refund", "wifi"):
        ingest_text(kb, key, PASSAGES[key])
    # when
    hits = knowledge_search(knowledge_bases=[kb], query="退货的运费由谁承担？", mode="hybrid", top_k=2)
    # then
    assert hits[0].document_title == "refund", [(hit.document_title, hit.scores) for hit in hits]
    assert hits[0].scores["rerank"] > hits[1].scores["rerank"]
    (row,) = UsageRecord.objects.filter(workspace=workspace, operation="rerank")
    assert (row.endpoint_slug, row.model_name, row.status) == ("local-rerank", RERANK_MODEL, "ok")
    assert row.prompt_tokens > 0 and row.cost == Decimal(0)
