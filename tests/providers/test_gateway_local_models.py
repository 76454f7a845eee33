"""The gateway against the REAL local models: llama.cpp (Gemma 3 270M) and the MiniLM embeddings server."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from devservices.localmodels import CHAT_MODEL, EMBEDDING_DIMENSIONS, EMBEDDING_MODEL
from llmops.accounts.models import Role, Workspace
from llmops.providers.gateway import PlatformModelGateway
from llmops.usage.models import UsageRecord
from tests.accounts.factories import MembershipFactory, WorkspaceFactory
from tests.conftest import client_for
from tests.providers.factories import ModelEndpointFactory, endpoint_config, publish
from workflows import CallContext, ChatMessage, ChatRequest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

PRICES = {"input": 0.5, "output": 1.5, "currency": "USD"}
CONTEXT = CallContext(run_id="run-7", node_id="llm-1")


@pytest.fixture
def local_workspace() -> Workspace:
    return WorkspaceFactory.create(slug="local")


@pytest.fixture
def gemma(local_workspace: Workspace, chat_server_url: str) -> Any:
    endpoint = ModelEndpointFactory.create(
        workspace=local_workspace,
        slug="gemma",
        draft=endpoint_config(
            provider_kind="llamacpp",
            model=CHAT_MODEL,
            base_url=chat_server_url,
            context_window=4096,
            prices=PRICES,
        ),
    )
    publish(endpoint)
    return endpoint


def _request(text: str = "The capital of France is", **parameters: Any) -> ChatRequest:
    return ChatRequest(
        model="gemma",
        messages=(ChatMessage(role="user", content=text),),
        context=CONTEXT,
        parameters={"max_tokens": 8, "temperature": 0, **parameters},
    )


async def _rows(workspace: Workspace) -> list[UsageRecord]:
    return [row async for row in UsageRecord.objects.filter(workspace=workspace).order_by("id")]


async def test_chat_returns_text_and_usage_and_writes_a_priced_usage_row(
    local_workspace: Workspace, gemma: Any
) -> None:
    # given
    gateway = PlatformModelGateway(workspace=local_workspace, source="run", deployment_id="dep-1")
    # when
    result = await gateway.chat(_request())
    # then
    assert result.text.strip()
    assert result.usage.prompt_tokens > 0 and 0 < result.usage.completion_tokens <= 8
    (row,) = await _rows(local_workspace)
    assert (row.status, row.operation, row.source, row.endpoint_slug, row.endpoint_version) == (
        "ok", "chat", "run", "gemma", 1,
    )  # fmt: skip
    assert (row.run_id, row.node_id, row.deployment_id) == ("run-7", "llm-1", "dep-1")
    assert (row.prompt_tokens, row.completion_tokens) == (
        result.usage.prompt_tokens,
        result.usage.completion_tokens,
    )
    expected = (
        Decimal(row.prompt_tokens) * Decimal("0.5") + Decimal(row.completion_tokens) * Decimal("1.5")
    ) / 10**6
    assert row.cost == expected.quantize(Decimal("0.0000000001")) and row.cost > 0
    assert row.currency == "USD" and row.latency_ms > 0 and row.ttft_ms is None


async def test_stream_yields_text_then_a_final_chunk_with_usage_and_records_ttft(
    local_workspace: Workspace, gemma: Any
) -> None:
    gateway = PlatformModelGateway(workspace=local_workspace, source="playground", end_user="alice")
    chunks = [chunk async for chunk in gateway.stream(_request())]
    *text_chunks, final = chunks
    assert text_chunks and all(chunk.text and chunk.usage is None for chunk in text_chunks)
    assert final.usage is not None and final.usage.prompt_tokens > 0 and final.usage.completion_tokens > 0
    assert final.text == "" and final.model == CHAT_MODEL
    (row,) = await _rows(local_workspace)
    assert (row.operation, row.status, row.end_user) == ("stream", "ok", "alice")
    assert row.completion_tokens == final.usage.completion_tokens and row.cost > 0
    assert row.ttft_ms is not None and 0 < row.ttft_ms <= row.latency_ms


async def test_the_draft_is_used_while_nothing_is_published(
    local_workspace: Workspace, chat_server_url: str
) -> None:
    await sync_to_async(ModelEndpointFactory)(
        workspace=local_workspace,
        slug="gemma",
        draft=endpoint_config(provider_kind="llamacpp", model=CHAT_MODEL, base_url=chat_server_url),
    )
    result = await PlatformModelGateway(workspace=local_workspace, source="playground").chat(_request())
    assert result.usage.completion_tokens > 0
    (row,) = await _rows(local_workspace)
    assert row.endpoint_version is None


async def test_embeddings_come_back_in_order_in_batches_with_one_usage_row_per_batch(
    local_workspace: Workspace, embedding_server_url: str
) -> None:
    # given
    await sync_to_async(ModelEndpointFactory)(
        workspace=local_workspace,
        slug="minilm",
        draft=endpoint_config(
            provider_kind="openai_compatible",
            model=EMBEDDING_MODEL,
            model_type="embedding",
            base_url=embedding_server_url,
            embedding_batch_size=2,
            prices={"input": 0.02, "output": 0},
        ),
    )
    texts = ["a cat sat on the mat", "a kitten on a rug", "quarterly revenue grew"]
    gateway = PlatformModelGateway(workspace=local_workspace, source="run")
    # when
    result = await gateway.embed("minilm", texts, CONTEXT)
    # then
    assert len(result.vectors) == 3 and all(len(v) == EMBEDDING_DIMENSIONS for v in result.vectors)

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(result.vectors[0], result.vectors[1]) > cosine(result.vectors[0], result.vectors[2])
    rows = await _rows(local_workspace)
    assert [(row.operation, row.status) for row in rows] == [("embed", "ok"), ("embed", "ok")]
    assert sum(row.prompt_tokens for row in rows) == result.usage.prompt_tokens > 0


async def test_connection_test_through_the_api_reports_ok_and_latency(
    local_workspace: Workspace, gemma: Any
) -> None:
    def call() -> Any:
        user = MembershipFactory.create(workspace=local_workspace, role=Role.EDITOR).user
        return client_for(user).post("/api/workspaces/local/model-endpoints/gemma/test/", {}, format="json")

    response = await sync_to_async(call)()
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"] is True and body["error"] is None and body["latency_ms"] > 0
    (row,) = await _rows(local_workspace)
    assert (row.source, row.completion_tokens) == ("test_connection", 1)
