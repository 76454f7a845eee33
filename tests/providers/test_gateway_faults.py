"""The gateway against a scripted OpenAI-protocol server: retries, Retry-After, timeouts, fallbacks,
malformed streams, the context-window refusal, limits, SSRF at call time, and one usage row per attempt."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings

from llmops.accounts.models import Role, Workspace
from llmops.core.errors import NotFound
from llmops.providers.errors import (
    ContextWindowExceeded,
    MalformedResponse,
    ModelCallError,
    OutboundBlocked,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
)
from llmops.providers.gateway import PlatformModelGateway
from llmops.providers.limits import wait_for_rate
from llmops.usage.models import UsageRecord
from tests.accounts.factories import MembershipFactory, WorkspaceFactory
from tests.conftest import client_for
from tests.providers.factories import ModelEndpointFactory, endpoint_config
from tests.support.openai_test_server import (
    OpenAITestServer,
    delay,
    disconnect,
    embeddings,
    malformed_stream,
    ok,
    ok_stream,
    status,
)
from workflows import CallContext, ChatMessage, ChatRequest

pytestmark = pytest.mark.django_db(transaction=True)

API_KEY = "sk-live-SECRET-0123456789abcdef"
CONTEXT = CallContext(run_id="run-1", node_id="node-1")


@pytest.fixture
def ws() -> Workspace:
    return WorkspaceFactory.create(slug="faults")


def _endpoint_sync(ws: Workspace, server: OpenAITestServer, slug: str = "primary", **config: Any) -> Any:
    defaults: dict[str, Any] = {"base_url": server.url, "max_retries": 2, "timeout_seconds": 5}
    return ModelEndpointFactory.create(
        workspace=ws,
        slug=slug,
        draft=endpoint_config(**{**defaults, **config}),
        credentials={"api_key": API_KEY},
    )


_endpoint = sync_to_async(_endpoint_sync)


def _request(text: str = "Say hi", model: str = "primary") -> ChatRequest:
    return ChatRequest(model=model, messages=(ChatMessage(role="user", content=text),), context=CONTEXT)


def _gateway(ws: Workspace) -> PlatformModelGateway:
    return PlatformModelGateway(workspace=ws, source="api", api_key_id="key-9")


async def _rows(ws: Workspace) -> list[tuple[Any, ...]]:
    rows = UsageRecord.objects.filter(workspace=ws).order_by("id")
    return [(r.endpoint_slug, r.attempt, r.status, r.error_type) async for r in rows]


async def _messages(ws: Workspace) -> list[str]:
    return [r.error_message async for r in UsageRecord.objects.filter(workspace=ws).order_by("id")]


async def test_a_429_is_retried_after_the_retry_after_the_provider_asked_for(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    # given
    await _endpoint(ws, provider)
    provider.script(status(429, retry_after=0.4), ok("Hello!", usage=(5, 2)))
    # when
    result = await _gateway(ws).chat(_request())
    # then
    assert (result.text, result.usage.prompt_tokens, result.usage.completion_tokens) == ("Hello!", 5, 2)
    first, second = provider.requests
    assert second.received_at - first.received_at >= 0.4
    assert first.headers["authorization"] == f"Bearer {API_KEY}"
    assert await _rows(ws) == [("primary", 1, "error", "rate_limited"), ("primary", 2, "ok", "")]


async def test_a_500_is_retried_with_backoff_then_succeeds(ws: Workspace, provider: OpenAITestServer) -> None:
    await _endpoint(ws, provider)
    provider.script(status(500), ok("fine"))
    result = await _gateway(ws).chat(_request())
    assert result.text == "fine" and len(provider.requests) == 2
    assert await _rows(ws) == [("primary", 1, "error", "unavailable"), ("primary", 2, "ok", "")]


async def test_retries_stop_after_max_retries_with_a_clear_error(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    await _endpoint(ws, provider, max_retries=1)
    provider.script(status(429, retry_after=0.05), status(429, retry_after=0.05), ok())
    with pytest.raises(ProviderRateLimited, match=r"Model endpoint 'primary': rate limited by the provider"):
        await _gateway(ws).chat(_request())
    assert len(provider.requests) == 2
    assert [row[2:] for row in await _rows(ws)] == [("error", "rate_limited")] * 2


async def test_a_retry_after_longer_than_the_setting_is_not_waited_for(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    await _endpoint(ws, provider)
    provider.script(status(429, retry_after=120))
    started = time.monotonic()
    with override_settings(LLMOPS_MODEL_MAX_RETRY_AFTER_SECONDS=5), pytest.raises(ProviderRateLimited):
        await _gateway(ws).chat(_request())
    assert time.monotonic() - started < 2 and len(provider.requests) == 1


async def test_a_timeout_is_metered_and_raised_clearly(ws: Workspace, provider: OpenAITestServer) -> None:
    await _endpoint(ws, provider, timeout_seconds=0.3, max_retries=0)
    provider.script(delay(3))
    with pytest.raises(ProviderTimeout, match="did not answer in time"):
        await _gateway(ws).chat(_request())
    (row,) = [record async for record in UsageRecord.objects.filter(workspace=ws)]
    assert (row.status, row.error_type, row.api_key_id, row.source) == ("error", "timeout", "key-9", "api")
    assert 250 <= row.latency_ms < 2000


async def test_the_next_endpoint_in_the_fallback_list_answers_when_the_first_fails(
    ws: Workspace, provider: OpenAITestServer, backup: OpenAITestServer
) -> None:
    # given
    await _endpoint(ws, backup, slug="backup", prices={"input": 3, "output": 6})
    await _endpoint(ws, provider, max_retries=1, fallbacks=["backup"])
    provider.script(status(503), status(503))
    backup.script(ok("from backup", usage=(10, 3)))
    # when
    result = await _gateway(ws).chat(_request())
    # then
    assert result.text == "from backup"
    assert await _rows(ws) == [
        ("primary", 1, "error", "unavailable"),
        ("primary", 2, "error", "unavailable"),
        ("backup", 1, "ok", ""),
    ]
    cost = await UsageRecord.objects.filter(workspace=ws, status="ok").values_list("cost", flat=True).aget()
    assert float(cost) == pytest.approx((10 * 3 + 3 * 6) / 1e6)


async def test_when_every_endpoint_fails_the_error_names_them_all(
    ws: Workspace, provider: OpenAITestServer, backup: OpenAITestServer
) -> None:
    await _endpoint(ws, backup, slug="backup", max_retries=0)
    await _endpoint(ws, provider, max_retries=0, fallbacks=["backup"])
    provider.script(status(500))
    backup.script(disconnect())
    with pytest.raises(ModelCallError) as caught:
        await _gateway(ws).chat(_request())
    assert "'primary'" in caught.value.message and "'backup'" in caught.value.message


async def test_a_stream_is_retried_before_its_first_chunk_and_carries_usage_last(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    await _endpoint(ws, provider)
    provider.script(status(502), ok_stream(["Hel", "lo"], usage=(4, 2)))
    chunks = [chunk async for chunk in _gateway(ws).stream(_request())]
    assert [c.text for c in chunks] == ["Hel", "lo", ""]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 2
    assert await _rows(ws) == [("primary", 1, "error", "unavailable"), ("primary", 2, "ok", "")]
    row = await UsageRecord.objects.filter(workspace=ws, status="ok").aget()
    assert row.operation == "stream" and row.ttft_ms is not None


async def test_a_malformed_stream_is_a_clear_error_after_the_text_already_sent(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    await _endpoint(ws, provider)
    provider.script(malformed_stream("bad_json", text_before="partial "))
    received = []
    with pytest.raises(MalformedResponse, match="malformed response"):
        async for chunk in _gateway(ws).stream(_request()):
            received.append(chunk.text)
    assert received == ["partial "]
    assert len(provider.requests) == 1  # text was delivered: a retry would duplicate it
    assert await _rows(ws) == [("primary", 1, "error", "malformed_response")]


async def test_a_stream_cut_mid_event_is_reported_as_a_broken_connection(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    await _endpoint(ws, provider, max_retries=0)
    provider.script(malformed_stream("truncated", text_before=""))
    with pytest.raises(ModelCallError) as caught:
        async for _ in _gateway(ws).stream(_request()):
            pass
    assert caught.value.error_type in ("connection", "malformed_response")
    assert (await _rows(ws))[0][2] == "error"


async def test_a_prompt_that_cannot_fit_the_context_window_is_refused_before_any_request(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    await _endpoint(ws, provider, context_window=100)
    long_prompt = "lorem ipsum dolor sit amet " * 200
    with pytest.raises(ContextWindowExceeded, match=r"does not fit the 100-token context window"):
        await _gateway(ws).chat(_request(long_prompt))
    with pytest.raises(ContextWindowExceeded):
        async for _ in _gateway(ws).stream(_request(long_prompt)):
            pass
    assert provider.requests == []
    assert [row[2:] for row in await _rows(ws)] == [("error", "context_window")] * 2


async def test_room_reserved_for_output_counts_against_the_window(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    await _endpoint(ws, provider, context_window=1000)
    request = ChatRequest(
        model="primary",
        messages=(ChatMessage(role="user", content="word " * 600),),
        context=CONTEXT,
        parameters={"max_tokens": 500},
    )
    with pytest.raises(ContextWindowExceeded, match="plus 500 reserved for output"):
        await _gateway(ws).chat(request)
    assert provider.requests == []


async def test_the_concurrency_limit_holds_calls_beyond_it(ws: Workspace, provider: OpenAITestServer) -> None:
    # given: each answer takes 0.3 s, two at a time are allowed
    await _endpoint(ws, provider, rate_limit={"concurrency": 2})
    provider.default = delay(0.3, ok("done"))
    gateway = _gateway(ws)
    # when
    results = await asyncio.gather(*(gateway.chat(_request()) for _ in range(5)))
    # then: three waves of arrivals, never three requests in flight at once
    assert [r.text for r in results] == ["done"] * 5
    arrivals = sorted(r.received_at for r in provider.requests)
    assert arrivals[1] - arrivals[0] < 0.15
    assert arrivals[2] - arrivals[0] >= 0.25 and arrivals[4] - arrivals[0] >= 0.55


async def test_the_requests_per_window_limiter_waits_for_the_next_window() -> None:
    # A one-second window stands in for the minute; the counter lives in (the tests') Redis.
    endpoint_id = int(time.time() * 1000) % 10**9
    await asyncio.sleep(1 - time.time() % 1 + 0.01)  # start at the beginning of a window
    waits = [await wait_for_rate(endpoint_id, 2, window_seconds=1) for _ in range(3)]
    assert waits[:2] == [0.0, 0.0]
    assert 0.5 < waits[2] <= 1.1


async def test_credentials_never_appear_in_errors_or_usage_rows(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    await _endpoint(ws, provider)
    provider.script(status(401, message=f"Incorrect API key provided: {API_KEY}"))
    with pytest.raises(ProviderRejected) as caught:
        await _gateway(ws).chat(_request())
    assert caught.value.error_type == "auth" and len(provider.requests) == 1  # not retried
    assert API_KEY not in str(caught.value) and API_KEY not in caught.value.message
    assert all(API_KEY not in message for message in await _messages(ws))
    assert "Incorrect API key provided: ***" in caught.value.message


async def test_a_base_url_that_became_private_is_refused_at_call_time(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    await _endpoint(ws, provider)
    with (
        override_settings(LLMOPS_OUTBOUND_ALLOWLIST=[]),
        pytest.raises(OutboundBlocked, match=r"127\.0\.0\.1"),
    ):
        await _gateway(ws).chat(_request())
    assert provider.requests == []
    assert await _rows(ws) == [("primary", 1, "error", "blocked_url")]


async def test_embeddings_are_retried_and_batched(ws: Workspace, provider: OpenAITestServer) -> None:
    await _endpoint(ws, provider, slug="embedder", model_type="embedding", embedding_batch_size=2)
    provider.script(status(500), embeddings(dimensions=4), embeddings(dimensions=4))
    result = await _gateway(ws).embed("embedder", ["one", "two", "three"], CONTEXT)
    assert [len(v) for v in result.vectors] == [4, 4, 4]
    assert [len(r.json["input"]) for r in provider.requests] == [2, 2, 1]
    assert await _rows(ws) == [
        ("embedder", 1, "error", "unavailable"),
        ("embedder", 2, "ok", ""),
        ("embedder", 1, "ok", ""),
    ]


async def test_unknown_references_and_wrong_model_types_are_refused(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    await _endpoint(ws, provider)
    with pytest.raises(NotFound, match="'missing'"):
        await _gateway(ws).chat(_request(model="missing"))
    with pytest.raises(NotFound, match="no version 4"):
        await _gateway(ws).chat(_request(model="primary:4"))
    with pytest.raises(NotFound, match="no label 'production'"):
        await _gateway(ws).chat(_request(model="primary@production"))
    with pytest.raises(Exception, match="is a chat endpoint, not embedding"):
        await _gateway(ws).embed("primary", ["x"], CONTEXT)
    assert provider.requests == []


def test_connection_test_reports_a_provider_error_without_the_key(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    _endpoint_sync(ws, provider)
    provider.script(status(401, message=f"bad key {API_KEY}"))
    user = MembershipFactory.create(workspace=ws, role=Role.EDITOR).user
    response = client_for(user).post(
        "/api/workspaces/faults/model-endpoints/primary/test/", {}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False and body["error"]["type"] == "auth"
    assert API_KEY not in response.content.decode()
    assert provider.requests[0].json["max_completion_tokens"] == 1


async def test_a_structured_reply_cut_at_max_tokens_is_returned_as_a_truncated_reply(
    ws: Workspace, provider: OpenAITestServer
) -> None:
    # given: a JSON-schema reply the model cut at max_tokens (the SDK's structured-output parser raises on it)
    await _endpoint(ws, provider)
    provider.script(ok('{"city": "Par', usage=(9, 4), finish_reason="length"))
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    request = ChatRequest(
        model="primary", messages=(ChatMessage(role="user", content="Where?"),), context=CONTEXT,
        response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": schema}},
    )  # fmt: skip
    # when
    result = await _gateway(ws).chat(request)
    # then: the partial text with its reason, metered, for the node to judge (a parameter extractor says why)
    assert (result.text, result.finish_reason, result.usage.completion_tokens) == (
        '{"city": "Par',
        "length",
        4,
    )
    assert await _rows(ws) == [("primary", 1, "ok", "")]
