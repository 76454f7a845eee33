"""SSRF through model endpoints, attacked as an attacker would: a provider that redirects to an internal
address, a name that is public when checked and loopback when connected (DNS rebinding), and internal pages
whose error bodies must not come back. Every provider kind and operation goes through the guarded transport.

The attacks run on :class:`ScriptedNetworkLoop` (scripted DNS, no route outside loopback) against real
loopback servers; nothing of the platform is mocked.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import override_settings

from llmops.accounts.models import Workspace
from llmops.providers.errors import ModelCallError, OutboundBlocked
from llmops.providers.gateway import PlatformModelGateway
from llmops.usage.models import UsageRecord
from tests.accounts.factories import WorkspaceFactory
from tests.providers.factories import ModelEndpointFactory, endpoint_config
from tests.support.scripted_network import RecordingServer, ScriptedNetworkLoop, recording_servers, run_on
from workflows import CallContext, ChatMessage, ChatRequest

pytestmark = pytest.mark.django_db(transaction=True)

API_KEY = "sk-admins-key-0123456789abcdef"
SECRET = "INTERNAL-ONLY-7f3a9c"
CONTEXT = CallContext(run_id="run-1", node_id="node-1")
PUBLIC = "93.184.215.14"

# (provider kind, model type): every protocol the gateway speaks.
KINDS = [
    ("openai", "chat"),
    ("azure_openai", "chat"),
    ("anthropic", "chat"),
    ("ollama", "chat"),
    ("openai_compatible", "chat"),
    ("openai", "embedding"),
    ("openai_compatible", "rerank"),
    ("openai", "moderation"),
]
KIND_IDS = [f"{kind}-{model_type}" for kind, model_type in KINDS]


@pytest.fixture
def ws() -> Workspace:
    return WorkspaceFactory.create(slug="ssrf")


def _endpoint(ws: Workspace, kind: str, model_type: str, origin: str) -> None:
    extra: dict[str, Any] = {"api_version": "2024-06-01"} if kind == "azure_openai" else {}
    base_url = origin if kind in ("azure_openai", "anthropic") else f"{origin}/v1"
    ModelEndpointFactory.create(
        workspace=ws,
        slug="ep",
        draft=endpoint_config(
            provider_kind=kind, model_type=model_type, base_url=base_url, max_retries=0, timeout_seconds=5,
            **extra,
        ),
        credentials={"api_key": API_KEY},
    )  # fmt: skip


def _call(ws: Workspace, model_type: str) -> Any:
    gateway = PlatformModelGateway(workspace=ws, source="api")
    if model_type == "embedding":
        return gateway.embed("ep", ["ping"], CONTEXT)
    if model_type == "rerank":
        return gateway.rerank("ep", "query", ["doc"], CONTEXT)
    if model_type == "moderation":
        return gateway.moderate("ep", "text", CONTEXT)
    messages = (ChatMessage(role="user", content="ping"),)
    return gateway.chat(ChatRequest(model="ep", messages=messages, context=CONTEXT))


def _failures(loop: ScriptedNetworkLoop, ws: Workspace, model_type: str, calls: int = 1) -> list[Exception]:
    """The errors of ``calls`` successive calls on ``loop`` (a call that succeeds is a test failure)."""

    async def attempts() -> list[Exception]:
        errors: list[Exception] = []
        for _ in range(calls):
            with pytest.raises(ModelCallError) as caught:
                await _call(ws, model_type)
            errors.append(caught.value)
        return errors

    return list(run_on(lambda: loop, attempts()))


def _failure(loop: ScriptedNetworkLoop, ws: Workspace, model_type: str) -> ModelCallError:
    error = _failures(loop, ws, model_type)[0]
    assert isinstance(error, ModelCallError)
    return error


def _stored_messages(ws: Workspace) -> list[str]:
    return list(UsageRecord.objects.filter(workspace=ws).values_list("error_message", flat=True))


def _internal_page() -> RecordingServer:
    return RecordingServer(status=400, body=json.dumps({"error": {"message": SECRET}}).encode())


@pytest.mark.parametrize(("kind", "model_type"), KINDS, ids=KIND_IDS)
def test_a_redirect_to_an_internal_address_never_reaches_it(
    ws: Workspace, kind: str, model_type: str
) -> None:
    # given an allow-listed provider host that answers every request with a 307 to an internal service
    with recording_servers(_internal_page(), RecordingServer()) as (internal, front):
        front.redirect_to = internal.url
        _endpoint(ws, kind, model_type, f"http://provider.test:{front.port}")
        loop = ScriptedNetworkLoop({"provider.test": ["127.0.0.1"]})
        # when
        with override_settings(LLMOPS_OUTBOUND_ALLOWLIST=["provider.test"]):
            error = _failure(loop, ws, model_type)
    # then the provider was called, the internal service never was, and nothing of it came back
    assert front.requests, "the endpoint's own host should have been called"
    assert internal.requests == []
    assert SECRET not in error.message and all(SECRET not in m for m in _stored_messages(ws))


@pytest.mark.parametrize(("kind", "model_type"), KINDS, ids=KIND_IDS)
def test_dns_rebinding_cannot_reach_loopback(ws: Workspace, kind: str, model_type: str) -> None:
    # given a name that resolves to a public address once, then to loopback, where an internal service runs
    with recording_servers(_internal_page()) as (internal,):
        host = f"rebind-{kind}-{model_type}.test"
        _endpoint(ws, kind, model_type, f"http://{host}:{internal.port}")
        loop = ScriptedNetworkLoop({host: [PUBLIC, "127.0.0.1"]})
        with override_settings(LLMOPS_OUTBOUND_ALLOWLIST=[]):
            # when the endpoint is called twice (the second lookup answers loopback)
            first, second = _failures(loop, ws, model_type, calls=2)
    # then the first call went to the checked public address, the second was refused, and loopback was
    # never connected to
    assert internal.requests == []
    assert loop.refused_connections and set(loop.refused_connections) == {PUBLIC}
    assert isinstance(first, ModelCallError) and first.error_type == "connection"
    assert isinstance(second, OutboundBlocked) and "127.0.0.1" in second.message
    assert SECRET not in first.message + second.message


@pytest.mark.parametrize(
    ("kind", "model_type"),
    [("openai_compatible", "chat"), ("anthropic", "chat"), ("openai", "embedding"), ("openai", "rerank")],
)
def test_an_error_page_of_the_target_is_not_echoed(ws: Workspace, kind: str, model_type: str) -> None:
    # given an allow-listed target that answers with an HTML page (an internal admin page, say)
    page = f"<html><body>admin console {SECRET}</body></html>".encode()
    with recording_servers(RecordingServer(status=404, body=page, content_type="text/html")) as (target,):
        _endpoint(ws, kind, model_type, target.url)
        loop = ScriptedNetworkLoop({})
        # when
        with override_settings(LLMOPS_OUTBOUND_ALLOWLIST=["127.0.0.1"]):
            error = _failure(loop, ws, model_type)
    # then the caller learns the status, not the page
    assert target.requests
    assert "HTTP 404" in error.message
    assert SECRET not in error.message and all(SECRET not in m for m in _stored_messages(ws))
