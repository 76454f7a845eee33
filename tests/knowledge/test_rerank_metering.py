"""Rerank through the metered gateway: one usage row per attempt with the search's attribution, the
endpoint's retries with Retry-After, the clear 503 of a failing endpoint, and a per-request price."""

from __future__ import annotations

import asyncio
import subprocess
from decimal import Decimal
from typing import Any

import pytest

from llmops.accounts.models import User
from llmops.knowledge.engine_retriever import PlatformRetriever
from llmops.knowledge.models import KnowledgeBase
from llmops.knowledge.search import knowledge_search
from llmops.providers.gateway import PlatformModelGateway
from llmops.runs.models import RunStatus
from llmops.runs.services import run_start
from llmops.usage.models import UsageRecord
from tests.conftest import client_for
from tests.knowledge.conftest import ingest_text
from tests.knowledge.corpus import PASSAGES
from tests.knowledge.test_workflow_retrieval import retrieval_dsl
from tests.providers.factories import ModelEndpointFactory, endpoint_config
from tests.runs.test_runs import wait_final
from tests.studio.factories import published_workflow
from tests.support.openai_test_server import OpenAITestServer, rerank, status
from workflows import CallContext

pytestmark = pytest.mark.django_db(transaction=True)

API_KEY = "sk-rerank-SECRET-0123456789"
QUERY = "bake something in a hot volcano oven"


@pytest.fixture
def corpus(kb: KnowledgeBase) -> KnowledgeBase:
    for key in ("bread", "volcano", "owls", "refund"):
        ingest_text(kb, key, PASSAGES[key])
    kb.refresh_from_db()
    return kb


def reranking(kb: KnowledgeBase, server: OpenAITestServer, **config: Any) -> KnowledgeBase:
    """Give ``kb`` the rerank endpoint ``rr`` on ``server`` (``config`` overrides its draft)."""
    defaults: dict[str, Any] = {"max_retries": 0, "prices": {"input": 2.0, "output": 0}}
    draft = endpoint_config(
        base_url=server.url, model="rr-model", model_type="rerank", **{**defaults, **config}
    )
    ModelEndpointFactory.create(
        workspace=kb.workspace, slug="rr", draft=draft, credentials={"api_key": API_KEY}
    )
    kb.retrieval = {**kb.retrieval, "rerank_model": "rr"}
    kb.save(update_fields=["retrieval"])
    return kb


def rerank_rows(kb: KnowledgeBase) -> list[UsageRecord]:
    return list(UsageRecord.objects.filter(workspace=kb.workspace, operation="rerank").order_by("id"))


def test_a_hybrid_search_with_a_rerank_endpoint_writes_one_rerank_row_for_the_knowledge_base(
    corpus: KnowledgeBase, openai_test_server: OpenAITestServer
) -> None:
    # given
    reranking(corpus, openai_test_server)
    openai_test_server.script(rerank(prefer="bread", tokens=120))
    # when
    hits = knowledge_search(knowledge_bases=[corpus], query=QUERY, mode="hybrid", top_k=2)
    # then
    assert hits[0].document_title == "bread" and hits[0].scores["rerank"] == 0.9
    (sent,) = openai_test_server.requests
    assert sent.path == "/v1/rerank" and sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.json["model"] == "rr-model" and sent.json["query"] == QUERY
    (row,) = rerank_rows(corpus)
    assert (row.endpoint_slug, row.model_name, row.status, row.attempt) == ("rr", "rr-model", "ok", 1)
    assert (row.source, row.node_id, row.run_id) == ("ingest", "knowledge:docs", "")
    assert row.prompt_tokens == 120 and row.cost == Decimal("0.00024")  # 120 tokens at 2 per 1M


def test_a_rerank_429_is_retried_after_its_retry_after_and_the_failed_attempt_is_recorded(
    corpus: KnowledgeBase, openai_test_server: OpenAITestServer
) -> None:
    # given: the endpoint allows one retry
    reranking(corpus, openai_test_server, max_retries=1)
    openai_test_server.script(status(429, retry_after=0.3), rerank(prefer="bread"))
    # when
    hits = knowledge_search(knowledge_bases=[corpus], query=QUERY, mode="hybrid", top_k=2)
    # then
    assert hits[0].document_title == "bread"
    first, second = openai_test_server.requests
    assert second.received_at - first.received_at >= 0.3
    rows = [(r.attempt, r.status, r.error_type, r.cost) for r in rerank_rows(corpus)]
    assert rows[0] == (1, "error", "rate_limited", Decimal(0))
    assert rows[1][:3] == (2, "ok", "")


def test_a_failing_rerank_endpoint_answers_503_naming_it_and_records_the_failure(
    corpus: KnowledgeBase, owner: User, openai_test_server: OpenAITestServer
) -> None:
    # given: a provider that fails and echoes the key
    reranking(corpus, openai_test_server)
    openai_test_server.script(status(500, message=f"upstream broke for key {API_KEY}"))
    # when
    response = client_for(owner).post(
        "/api/workspaces/acme/knowledge-bases/docs/hit-testing/", {"query": QUERY}, format="json"
    )
    # then
    assert response.status_code == 503
    message = response.json()["error"]["message"]
    assert "Model endpoint 'rr'" in message and "HTTP 500" in message and API_KEY not in message
    (row,) = rerank_rows(corpus)
    assert (row.status, row.error_type, row.source) == ("error", "unavailable", "ingest")
    assert API_KEY not in row.error_message


def test_a_workflow_retriever_meters_its_rerank_under_the_run_and_the_callers_attribution(
    corpus: KnowledgeBase, openai_test_server: OpenAITestServer
) -> None:
    # given: the retriever of a run started through the public API
    reranking(corpus, openai_test_server)
    openai_test_server.script(rerank(prefer="bread"))
    gateway = PlatformModelGateway(
        workspace=corpus.workspace, source="api", run_id="run-7", deployment_id="dep-1", api_key_id="key-1",
        end_user="eve",
    )  # fmt: skip
    retriever = PlatformRetriever(workspace_id=corpus.workspace_id, gateway=gateway)
    # when
    chunks = asyncio.run(
        retriever.retrieve(
            ["docs"], QUERY, top_k=2, score_threshold=None, mode="hybrid", filters={},
            context=CallContext(run_id="run-7", node_id="search"),
        )
    )  # fmt: skip
    # then
    assert chunks[0].document_title == "bread"
    (row,) = rerank_rows(corpus)
    assert (row.source, row.run_id, row.node_id) == ("api", "run-7", "search")
    assert (row.deployment_id, row.api_key_id, row.end_user) == ("dep-1", "key-1", "eve")


@pytest.mark.integration
def test_a_knowledge_retrieval_node_meters_its_rerank_under_its_run_on_a_worker(
    celery_worker_process: subprocess.Popen[bytes],
    corpus: KnowledgeBase,
    owner: User,
    openai_test_server: OpenAITestServer,
) -> None:
    # given
    reranking(corpus, openai_test_server)
    openai_test_server.script(rerank(prefer="bread"))
    workflow = published_workflow(workspace=corpus.workspace, slug="qa", draft=retrieval_dsl())
    # when
    run = wait_final(run_start(workflow=workflow, inputs={"question": QUERY}, user=owner).id, timeout=60)
    # then
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.outputs["chunks"][0]["document_title"] == "bread"
    (row,) = rerank_rows(corpus)
    assert (row.source, row.run_id, row.node_id, row.status) == ("run", str(run.id), "search", "ok")


def test_a_rerank_endpoint_priced_per_search_is_charged_per_billed_search(
    corpus: KnowledgeBase, openai_test_server: OpenAITestServer
) -> None:
    # given: 3 per 1,000 searches, no token price; the provider bills two search units
    reranking(corpus, openai_test_server, prices={"input": 0, "output": 0, "request": 3.0})
    openai_test_server.script(rerank(prefer="bread", search_units=2))
    # when
    knowledge_search(knowledge_bases=[corpus], query=QUERY, mode="hybrid", top_k=2)
    # then
    (row,) = rerank_rows(corpus)
    assert row.cost == Decimal("0.006")
