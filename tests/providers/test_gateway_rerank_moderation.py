"""Rerank and moderation through the gateway against the scripted server: retries, fallbacks, limits, SSRF,
redaction, protocol errors, connection tests, and one usage row per attempt."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from llmops.accounts.models import Workspace
from llmops.providers.errors import MalformedResponse, OutboundBlocked, ProviderRejected, ProviderUnavailable
from llmops.providers.gateway import EndpointTypeMismatch, PlatformModelGateway
from llmops.providers.selectors import endpoint_draft_pinned
from llmops.usage.models import UsageRecord
from tests.accounts.factories import WorkspaceFactory
from tests.providers.factories import ModelEndpointFactory, endpoint_config
from tests.support.openai_test_server import OpenAITestServer, answer, delay, moderation, rerank, status
from workflows import CallContext

pytestmark = pytest.mark.django_db(transaction=True)

API_KEY = "sk-live-SECRET-0123456789abcdef"
HEADER_SECRET = "hdr-SECRET-9876543210"
CONTEXT = CallContext(run_id="run-1", node_id="node-1")
DOCS = ["bread is baked", "owls hunt", "ovens are hot"]


@pytest.fixture
def ws() -> Workspace:
    return WorkspaceFactory.create(slug="scores")


@sync_to_async
def _endpoint(ws: Workspace, server: OpenAITestServer, slug: str, model_type: str, **config: Any) -> Any:
    draft = endpoint_config(
        base_url=server.url, model=f"{slug}-model", model_type=model_type,
        **{"max_retries": 2, "timeout_seconds": 5, "prices": {"input": 1.0, "output": 0}, **config},
    )  # fmt: skip
    credentials = {"api_key": API_KEY, "headers": {"x-tenant-secret": HEADER_SECRET}}
    return ModelEndpointFactory.create(workspace=ws, slug=slug, draft=draft, credentials=credentials)


def _gateway(ws: Workspace) -> PlatformModelGateway:
    return PlatformModelGateway(
        workspace=ws, source="api", deployment_id="dep-1", api_key_id="key-9", end_user="eve"
    )


async def _rows(ws: Workspace) -> list[tuple[Any, ...]]:
    rows = UsageRecord.objects.filter(workspace=ws).order_by("id")
    return [(r.endpoint_slug, r.operation, r.attempt, r.status, r.error_type) async for r in rows]


async def test_rerank_scores_documents_in_input_order_and_meters_the_call(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    # given
    await _endpoint(ws, provider, "rr", "rerank")
    provider.script(rerank(prefer="bread", tokens=30))
    # when
    result = await _gateway(ws).rerank("rr", "fresh bread", DOCS, CONTEXT)
    # then
    assert (result.scores, result.model, result.usage.prompt_tokens) == ([0.9, 0.1, 0.1], "rr-model", 30)
    (sent,) = provider.requests
    assert sent.json == {"model": "rr-model", "query": "fresh bread", "documents": DOCS, "top_n": 3}
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.headers["x-tenant-secret"] == HEADER_SECRET
    row = await UsageRecord.objects.aget(workspace=ws)
    assert (row.operation, row.source, row.run_id, row.node_id) == ("rerank", "api", "run-1", "node-1")
    assert (row.deployment_id, row.api_key_id, row.end_user) == ("dep-1", "key-9", "eve")
    assert row.prompt_tokens == 30 and row.cost == Decimal("0.00003")


async def test_logit_scores_are_squashed_into_the_unit_interval_and_missing_ones_are_zero(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    await _endpoint(ws, provider, "rr", "rerank")
    provider.script(rerank(scores=[3.0, -800.0, 0.5]))
    result = await _gateway(ws).rerank("rr", "q", DOCS, CONTEXT)
    assert result.scores[0] == pytest.approx(0.9526, abs=1e-4)
    assert result.scores[1] == 0.0 and result.scores[2] == 0.5


async def test_a_rerank_answer_outside_the_protocol_is_a_malformed_response(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    await _endpoint(ws, provider, "rr", "rerank")
    await _endpoint(ws, provider, "mod", "moderation")
    provider.script(answer({"results": [{"index": 5, "relevance_score": 0.3}]}), answer({"data": []}))
    with pytest.raises(MalformedResponse, match=r"Model endpoint 'rr': .*rerank response is malformed"):
        await _gateway(ws).rerank("rr", "q", ["one"], CONTEXT)
    with pytest.raises(MalformedResponse, match="moderation response has no list of results"):
        await _gateway(ws).moderate("mod", "q", CONTEXT)
    assert [row[:2] + row[3:] for row in await _rows(ws)] == [
        ("rr", "rerank", "error", "malformed_response"),
        ("mod", "moderation", "error", "malformed_response"),
    ]


async def test_a_failing_reranker_falls_back_to_the_next_one(
    ws: Workspace, provider: OpenAITestServer, backup: OpenAITestServer
) -> None:
    # given: the primary fails on every attempt, the fallback answers
    await _endpoint(ws, backup, "rr-backup", "rerank")
    await _endpoint(ws, provider, "rr", "rerank", max_retries=1, fallbacks=["rr-backup"])
    provider.default = status(503)
    backup.script(rerank(scores=[0.2, 0.7, 0.4]))
    # when
    result = await _gateway(ws).rerank("rr", "q", DOCS, CONTEXT)
    # then
    assert result.scores == [0.2, 0.7, 0.4] and result.model == "rr-backup-model"
    assert await _rows(ws) == [
        ("rr", "rerank", 1, "error", "unavailable"),
        ("rr", "rerank", 2, "error", "unavailable"),
        ("rr-backup", "rerank", 1, "ok", ""),
    ]


async def test_a_rerank_endpoint_s_concurrency_limit_holds_calls_back(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    await _endpoint(ws, provider, "rr", "rerank", rate_limit={"concurrency": 1})
    provider.script(delay(0.3, rerank()), delay(0.3, rerank()))
    gateway = _gateway(ws)
    await asyncio.gather(*(gateway.rerank("rr", "q", DOCS, CONTEXT) for _ in range(2)))
    first, second = provider.requests
    assert second.received_at - first.received_at >= 0.3


async def test_rerank_errors_never_show_the_credentials(ws: Workspace, provider: OpenAITestServer) -> None:
    await _endpoint(ws, provider, "rr", "rerank")
    provider.script(status(401, message=f"bad key {API_KEY} for tenant {HEADER_SECRET}"))
    with pytest.raises(ProviderRejected) as caught:
        await _gateway(ws).rerank("rr", "q", DOCS, CONTEXT)
    assert caught.value.error_type == "auth" and len(provider.requests) == 1  # not retried
    assert API_KEY not in caught.value.message and HEADER_SECRET not in caught.value.message
    row = await UsageRecord.objects.aget(workspace=ws)
    assert API_KEY not in row.error_message and HEADER_SECRET not in row.error_message


async def test_a_reranker_on_a_private_address_is_refused_at_call_time(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    await _endpoint(ws, provider, "rr", "rerank")
    with (
        override_settings(LLMOPS_OUTBOUND_ALLOWLIST=[]),
        pytest.raises(OutboundBlocked, match=r"127\.0\.0\.1"),
    ):
        await _gateway(ws).rerank("rr", "q", DOCS, CONTEXT)
    assert provider.requests == []
    assert await _rows(ws) == [("rr", "rerank", 1, "error", "blocked_url")]


async def test_moderation_returns_flagged_categories_and_meters_each_attempt(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    # given
    await _endpoint(ws, provider, "mod", "moderation", prices={"input": 0, "output": 0})
    provider.script(status(500), moderation("violence"), moderation())
    gateway = _gateway(ws)
    # when
    flagged = await gateway.moderate("mod", "I will kill the process", CONTEXT)
    clean = await gateway.moderate("mod", "hello", CONTEXT)
    # then
    assert (flagged.flagged, flagged.categories) == (True, ["violence"])
    assert (clean.flagged, clean.categories) == (False, [])
    assert provider.requests[-1].json == {"model": "mod-model", "input": "hello"}
    assert await _rows(ws) == [
        ("mod", "moderation", 1, "error", "unavailable"),
        ("mod", "moderation", 2, "ok", ""),
        ("mod", "moderation", 1, "ok", ""),
    ]
    costs = {row.cost async for row in UsageRecord.objects.filter(workspace=ws)}
    assert costs == {Decimal(0)}


async def test_rerank_and_moderation_refuse_endpoints_of_another_type(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    await _endpoint(ws, provider, "chatty", "chat")
    with pytest.raises(EndpointTypeMismatch, match="is a chat endpoint, not rerank"):
        await _gateway(ws).rerank("chatty", "q", DOCS, CONTEXT)
    with pytest.raises(EndpointTypeMismatch, match="is a chat endpoint, not moderation"):
        await _gateway(ws).moderate("chatty", "q", CONTEXT)
    assert provider.requests == [] and await _rows(ws) == []


@pytest.mark.parametrize(
    ("model_type", "path"), [("rerank", "/v1/rerank"), ("moderation", "/v1/moderations")]
)
async def test_connection_tests_cover_rerank_and_moderation_endpoints(
    ws: Workspace, provider: OpenAITestServer, model_type: str, path: str
) -> None:
    endpoint = await _endpoint(ws, provider, "probe", model_type)
    pinned = await sync_to_async(endpoint_draft_pinned)(endpoint=endpoint)
    gateway = PlatformModelGateway(workspace=ws, source="test_connection")
    passed = await gateway.test_connection(pinned)
    provider.script(status(503))
    failed = await gateway.test_connection(pinned)
    assert passed.ok and passed.model == "probe-model" and [r.path for r in provider.requests] == [path] * 2
    assert not failed.ok and failed.error_type == "unavailable"
    assert [row[1:4] for row in await _rows(ws)] == [(model_type, 1, "ok"), (model_type, 1, "error")]


async def test_a_moderation_endpoint_failing_past_its_retries_raises_a_503_error(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    await _endpoint(ws, provider, "mod", "moderation", max_retries=0)
    provider.script(status(502))
    with pytest.raises(
        ProviderUnavailable, match=r"Model endpoint 'mod': the provider failed \(HTTP 502\)"
    ) as caught:
        await _gateway(ws).moderate("mod", "hello", CONTEXT)
    assert caught.value.status == 503
