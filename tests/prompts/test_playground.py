"""The playground: SSE streaming from the real local model, JSON mode, moderation, usage rows."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient
from knox.models import AuthToken

from devservices.localmodels import CHAT_MODEL
from llmops.accounts.models import User, Workspace
from llmops.usage.models import UsageRecord
from tests.conftest import client_for
from tests.prompts.factories import PromptFactory, chat_content
from tests.providers.factories import ModelEndpointFactory, endpoint_config
from tests.support.openai_test_server import OpenAITestServer, ok, ok_stream, status

URL = "/api/workspaces/acme/prompts/"


def sse_events(payload: bytes) -> list[tuple[str, dict[str, Any]]]:
    """``(event, data)`` pairs of a ``text/event-stream`` body."""
    events = []
    for block in payload.decode().strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


class TokenAsyncClient:
    """An ``AsyncClient`` sending a knox token on every request.

    The token goes per request: Django 5.2.19's ``AsyncClient(headers=...)`` turns client-wide headers into
    ``http-*`` names that ``ASGIRequest`` then drops.
    """

    def __init__(self, token: str) -> None:
        self.client = AsyncClient()
        self.headers = {"Authorization": f"Token {token}"}

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        return await self.client.post(path, body, content_type="application/json", headers=self.headers)


async def async_client_for(user: User) -> TokenAsyncClient:
    _, token = await sync_to_async(AuthToken.objects.create)(user)
    return TokenAsyncClient(token)


async def stream(
    client: TokenAsyncClient, slug: str, body: dict[str, Any]
) -> tuple[Any, list[tuple[str, dict[str, Any]]]]:
    response = await client.post(f"{URL}{slug}/playground/", body)
    assert response.status_code == 200, response.content
    payload = b"".join([chunk async for chunk in response.streaming_content])
    return response, sse_events(payload)


@pytest.fixture
def local_endpoint(workspace: Workspace, local_chat_url: str) -> Any:
    config = endpoint_config(
        provider_kind="llamacpp", model=CHAT_MODEL, base_url=local_chat_url, context_window=2048
    )
    return ModelEndpointFactory.create(workspace=workspace, slug="local", draft=config)


@pytest.fixture
def scripted_endpoint(workspace: Workspace, openai_test_server: OpenAITestServer) -> Any:
    config = endpoint_config(base_url=openai_test_server.url, model="scripted")
    return ModelEndpointFactory.create(workspace=workspace, slug="scripted", draft=config)


@pytest.mark.django_db(transaction=True)
async def test_playground_streams_the_local_model_and_records_usage(
    workspace: Workspace, owner: User, local_endpoint: Any
) -> None:
    # given a prompt on the real Gemma 3 270M server, temperature 0, at most 16 tokens
    await sync_to_async(PromptFactory)(workspace=workspace, slug="p", draft=chat_content(model="local"))
    client = await async_client_for(owner)
    body = {"variables": {"topic": "the moon"}}
    # when
    response, events = await stream(client, "p", body)
    blocking = await client.post(f"{URL}p/playground/", {**body, "stream": False})
    # then
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    names = [name for name, _ in events]
    assert names[0] == "text_chunk" and names[-2:] == ["usage", "done"], names
    assert set(names[:-2]) == {"text_chunk"}
    text = "".join(data["text"] for name, data in events if name == "text_chunk")
    usage = events[-2][1]
    assert text.strip() and 0 < usage["completion_tokens"] <= 16 and usage["prompt_tokens"] > 0
    assert Decimal(str(usage["cost"])) > 0
    answer = blocking.json()
    assert answer["blocked"] is False and answer["text"] == text, "temperature 0 is deterministic"
    rows = [row async for row in UsageRecord.objects.filter(workspace=workspace).order_by("id")]
    assert [(row.source, row.operation, row.endpoint_slug) for row in rows] == [
        ("playground", "stream", "local"),
        ("playground", "chat", "local"),
    ]
    assert rows[0].completion_tokens == usage["completion_tokens"] and rows[0].ttft_ms is not None


@pytest.mark.django_db(transaction=True)
async def test_playground_stream_blocks_input_and_output_by_keyword(
    workspace: Workspace, owner: User, openai_test_server: OpenAITestServer, scripted_endpoint: Any
) -> None:
    moderation = {"input": {"keywords": ["password"]}, "output": {"keywords": ["secret"]}}
    draft = chat_content(model="scripted", moderation=moderation)
    await sync_to_async(PromptFactory)(workspace=workspace, slug="p", draft=draft)
    client = await async_client_for(owner)
    openai_test_server.script(ok_stream(["The ", "secret ", "is out"]))
    _, blocked_in = await stream(client, "p", {"variables": {"topic": "my Password"}})
    _, blocked_out = await stream(client, "p", {"variables": {"topic": "owls"}})
    assert blocked_in == [
        ("blocked", {"blocked": True, "stage": "input", "rule": "keyword:password",
                     "message": "The input was blocked by moderation rule 'keyword:password'."}),
        ("done", {}),
    ]  # fmt: skip
    assert [name for name, _ in blocked_out] == ["blocked", "done"]
    assert blocked_out[0][1]["stage"] == "output" and blocked_out[0][1]["rule"] == "keyword:secret"
    assert len(openai_test_server.requests) == 1, "a blocked input never reaches the model"


@pytest.mark.django_db(transaction=True)
async def test_playground_stream_forwards_each_chunk_as_it_comes(
    workspace: Workspace, owner: User, openai_test_server: OpenAITestServer, scripted_endpoint: Any
) -> None:
    await sync_to_async(PromptFactory)(workspace=workspace, slug="p", draft=chat_content(model="scripted"))
    openai_test_server.script(ok_stream(["Owls ", "hoot", "."], usage=(7, 3)))
    _, events = await stream(await async_client_for(owner), "p", {"variables": {"topic": "owls"}})
    assert events == [
        ("text_chunk", {"text": "Owls "}),
        ("text_chunk", {"text": "hoot"}),
        ("text_chunk", {"text": "."}),
        ("usage", {"prompt_tokens": 7, "completion_tokens": 3, "cached_tokens": 0, "total_tokens": 10,
                   "cost": 0.000013}),
        ("done", {}),
    ]  # fmt: skip


@pytest.mark.django_db(transaction=True)
async def test_playground_stream_reports_model_errors_as_an_error_event(
    workspace: Workspace, owner: User, openai_test_server: OpenAITestServer, scripted_endpoint: Any
) -> None:
    await sync_to_async(PromptFactory)(workspace=workspace, slug="p", draft=chat_content(model="scripted"))
    openai_test_server.script(status(401))
    _, events = await stream(await async_client_for(owner), "p", {"variables": {"topic": "owls"}})
    assert [name for name, _ in events] == ["error", "done"]
    assert events[0][1]["code"] and "scripted" in events[0][1]["message"]


@pytest.mark.django_db
def test_playground_json_mode_with_overrides_and_output_block(
    workspace: Workspace, owner: User, openai_test_server: OpenAITestServer, scripted_endpoint: Any
) -> None:
    PromptFactory.create(
        workspace=workspace, slug="p", draft=chat_content(moderation={"output": {"keywords": ["secret"]}})
    )
    openai_test_server.script(ok("Owls hoot.", usage=(10, 3)), ok("a secret"))
    client = client_for(owner)
    body = {
        "variables": {"topic": "owls"},
        "stream": False,
        "model": "scripted",
        "parameters": {"temperature": 1},
    }
    answer = client.post(f"{URL}p/playground/", body, format="json").json()
    blocked = client.post(f"{URL}p/playground/", body, format="json").json()
    assert answer == {
        "blocked": False, "text": "Owls hoot.", "model": "scripted", "version": "draft",
        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "cached_tokens": 0, "total_tokens": 13,
                  "cost": 0.000016},
    }  # fmt: skip
    assert openai_test_server.requests[0].json["temperature"] == 1
    assert (blocked["blocked"], blocked["stage"], blocked["rule"]) == (True, "output", "keyword:secret")


@pytest.mark.django_db
def test_playground_without_a_model_is_a_400(workspace: Workspace, owner: User) -> None:
    PromptFactory.create(workspace=workspace, slug="p")
    response = client_for(owner).post(f"{URL}p/playground/", {"variables": {"topic": "x"}}, format="json")
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["model"]


@pytest.mark.django_db
def test_viewers_may_render_but_not_use_the_playground(workspace: Workspace, owner: User) -> None:
    from llmops.accounts.models import Role
    from tests.accounts.factories import MembershipFactory, UserFactory

    viewer = MembershipFactory.create(
        workspace=workspace, user=UserFactory.create(username="vera"), role=Role.VIEWER
    ).user
    PromptFactory.create(workspace=workspace, slug="p")
    client = client_for(viewer)
    assert client.post(f"{URL}p/render/", {"variables": {"topic": "x"}}, format="json").status_code == 200
    assert client.post(f"{URL}p/playground/", {"variables": {"topic": "x"}}, format="json").status_code == 403
