"""Moderation rules: keywords (word or substring, any case) and an OpenAI-protocol moderation endpoint,
called through the metered gateway (one ``moderation`` usage row per attempt, with the caller's
attribution)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from llmops.accounts.models import User, Workspace
from llmops.core.errors import ServiceUnavailable, ValidationError
from llmops.prompts.gateway import endpoint_moderator
from llmops.prompts.moderation import ModerationStage, keyword_verdict, moderate
from llmops.providers.gateway import PlatformModelGateway
from llmops.usage.models import UsageRecord
from tests.conftest import client_for
from tests.prompts.factories import PromptFactory, chat_content, scripted_moderation_endpoint
from tests.providers.factories import ModelEndpointFactory, endpoint_config
from tests.support.openai_test_server import OpenAITestServer, moderation, ok, status
from workflows import CallContext


class ModerationServer(ThreadingHTTPServer):
    """A real HTTP peer speaking OpenAI's ``POST /v1/moderations``: texts containing "kill" are violent."""

    requests: list[dict[str, Any]]


class _Handler(BaseHTTPRequestHandler):
    server: ModerationServer

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        violent = "kill" in str(body["input"]).lower()
        result = {"flagged": violent, "categories": {"violence": violent, "hate": False}}
        payload = json.dumps({"id": "modr-1", "model": body["model"], "results": [result]}).encode()
        self.send_response(200 if self.path == "/v1/moderations" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def moderation_server() -> Iterator[ModerationServer]:
    server = ModerationServer(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def moderation_endpoint(workspace: Workspace, server: ModerationServer, slug: str = "mod") -> Any:
    """A ``moderation`` model endpoint of ``workspace`` pointing at ``server``."""
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    config = endpoint_config(model="omni-moderation", model_type="moderation", base_url=url)
    return ModelEndpointFactory.create(
        workspace=workspace, slug=slug, draft=config, credentials={"api_key": "sk-mod"}
    )


@pytest.mark.parametrize(
    ("match", "text", "rule"),
    [
        ("word", "my PASSWORD is", "keyword:password"),
        ("word", "passwords are fine", None),
        ("substring", "passwords are not", "keyword:password"),
        ("word", "say pass-word", None),
    ],
)
def test_keywords_match_case_insensitively_by_word_or_substring(
    match: str, text: str, rule: str | None
) -> None:
    stage = ModerationStage(keywords=["password"], match=match)
    verdict = keyword_verdict("input", stage, text)
    assert (verdict.rule if verdict else None) == rule


def test_a_verdict_names_stage_rule_and_message() -> None:
    stage = ModerationStage(keywords=["secret"], message="Nope.")
    verdict = keyword_verdict("output", stage, "the Secret sauce")
    assert verdict is not None
    assert verdict.to_dict() == {
        "blocked": True,
        "stage": "output",
        "rule": "keyword:secret",
        "message": "Nope.",
    }


@pytest.mark.django_db(transaction=True)
async def test_moderation_endpoint_flags_by_category(
    workspace: Workspace, moderation_server: ModerationServer
) -> None:
    await sync_to_async(moderation_endpoint)(workspace, moderation_server)
    stage = ModerationStage(endpoint="mod")
    ask = endpoint_moderator(workspace)
    try:
        clean = await moderate("input", stage, "hello there", ask)
        flagged = await moderate("input", stage, "I will KILL the process", ask)
    finally:
        await sync_to_async(connections.close_all)()
    assert clean is None
    assert flagged is not None and flagged.rule == "endpoint:mod:violence"
    assert moderation_server.requests[-1] == {
        "path": "/v1/moderations",
        "auth": "Bearer sk-mod",
        "model": "omni-moderation",
        "input": "I will KILL the process",
    }
    rows = [
        (r.operation, r.endpoint_slug, r.status)
        async for r in UsageRecord.objects.filter(workspace=workspace)
    ]
    assert rows == [("moderation", "mod", "ok")] * 2


@pytest.mark.django_db(transaction=True)
async def test_a_chat_endpoint_is_not_a_moderation_endpoint(workspace: Workspace) -> None:
    await sync_to_async(ModelEndpointFactory)(workspace=workspace, slug="chat")
    try:
        with pytest.raises(ValidationError, match="not a moderation endpoint"):
            await endpoint_moderator(workspace)("chat", "hello")
    finally:
        await sync_to_async(connections.close_all)()


@pytest.mark.django_db(transaction=True)
async def test_a_moderation_call_is_metered_with_the_attribution_of_the_call_it_moderates(
    workspace: Workspace, openai_test_server: OpenAITestServer
) -> None:
    # given: a chain call made through the public API, and a moderation endpoint that allows one retry
    await sync_to_async(scripted_moderation_endpoint)(workspace, openai_test_server, max_retries=1)
    gateway = PlatformModelGateway(
        workspace=workspace, source="api", run_id="chain-1", node_id="bot", deployment_id="dep-1",
        api_key_id="key-1", end_user="eve",
    )  # fmt: skip
    ask = endpoint_moderator(workspace, gateway=gateway, context=CallContext(run_id="chain-1", node_id="bot"))
    openai_test_server.script(status(429, retry_after=0.2), moderation("harassment"))
    # when
    verdict = await moderate("output", ModerationStage(endpoint="mod"), "you fool", ask)
    # then
    assert verdict is not None and verdict.rule == "endpoint:mod:harassment"
    first, second = openai_test_server.requests
    assert second.received_at - first.received_at >= 0.2
    rows = [row async for row in UsageRecord.objects.filter(workspace=workspace).order_by("id")]
    assert [(r.operation, r.attempt, r.status, r.error_type) for r in rows] == [
        ("moderation", 1, "error", "rate_limited"),
        ("moderation", 2, "ok", ""),
    ]
    assert {(r.source, r.run_id, r.node_id, r.deployment_id, r.api_key_id, r.end_user) for r in rows} == {
        ("api", "chain-1", "bot", "dep-1", "key-1", "eve")
    }
    assert rows[1].cost == Decimal(0) and rows[1].prompt_tokens > 0


@pytest.mark.django_db(transaction=True)
async def test_a_failing_moderation_endpoint_is_a_503_naming_it(
    workspace: Workspace, openai_test_server: OpenAITestServer
) -> None:
    await sync_to_async(scripted_moderation_endpoint)(workspace, openai_test_server, max_retries=0)
    openai_test_server.script(status(500))
    with pytest.raises(ServiceUnavailable, match=r"Model endpoint 'mod': the provider failed \(HTTP 500\)"):
        await endpoint_moderator(workspace)("mod", "hello")
    row = await UsageRecord.objects.aget(workspace=workspace)
    assert (row.operation, row.status, row.error_type, row.source) == (
        "moderation",
        "error",
        "unavailable",
        "run",
    )


@pytest.mark.django_db
def test_a_prompt_s_input_moderation_stage_writes_a_moderation_row_with_the_playground_call(
    workspace: Workspace, owner: User, openai_test_server: OpenAITestServer
) -> None:
    # given: a prompt whose input stage asks the moderation endpoint, both endpoints on the scripted server
    scripted_moderation_endpoint(workspace, openai_test_server)
    ModelEndpointFactory.create(
        workspace=workspace,
        slug="scripted",
        draft=endpoint_config(base_url=openai_test_server.url, model="scripted"),
    )
    draft = chat_content(model="scripted", moderation={"input": {"endpoint": "mod"}})
    PromptFactory.create(workspace=workspace, slug="p", draft=draft)
    openai_test_server.script(moderation(), ok("Owls hoot.", usage=(10, 3)), moderation("violence"))
    client = client_for(owner)
    # when
    body = {"variables": {"topic": "owls"}, "stream": False}
    answer = client.post("/api/workspaces/acme/prompts/p/playground/", body, format="json").json()
    blocked = client.post("/api/workspaces/acme/prompts/p/playground/", body, format="json").json()
    # then
    assert answer["text"] == "Owls hoot." and answer["usage"]["cost"] == 0.000016  # moderation is free
    assert (blocked["blocked"], blocked["rule"]) == (True, "endpoint:mod:violence")
    rows = list(UsageRecord.objects.filter(workspace=workspace).order_by("id"))
    assert [(r.operation, r.endpoint_slug) for r in rows] == [
        ("moderation", "mod"),
        ("chat", "scripted"),
        ("moderation", "mod"),
    ]
    assert {(r.source, r.node_id) for r in rows} == {("playground", "p")}
    assert rows[0].run_id == rows[1].run_id != rows[2].run_id and rows[0].run_id.startswith("playground-")
