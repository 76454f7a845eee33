"""Conversation variables of a chat workflow deployment, through the real public API ``/v1/chat/completions``:
carried across turns of one conversation, ``sys.dialogue_count``, a failed turn changes nothing, and another
conversation, API key or end user never sees them."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from llmops.accounts.models import Workspace
from llmops.deployments.models import Execution
from llmops.runs.conversations import LoadedConversation, conversation_save
from llmops.runs.models import ConversationState, Run, RunStatus
from tests.deployments.factories import api_key, deployment_of
from tests.studio.factories import published_workflow
from workflows import RunRecord

pytestmark = pytest.mark.django_db


def memo_chat() -> dict[str, Any]:
    """Counts the turns, remembers every message and divides ``scale`` by the ``divisor`` input."""
    return {
        "name": "Memo chat",
        "mode": "chat",
        "inputs": [{"name": "divisor", "type": "number", "required": False, "default": 1}],
        "conversation_variables": [
            {"name": "count", "type": "number", "default": 0},
            {"name": "said", "type": "array[string]", "default": []},
            {"name": "scale", "type": "number", "default": 100},
        ],
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "remember", "type": "variable_assigner", "config": {"items": [
                {"variable": "count", "operation": "add", "constant": 1},
                {"variable": "said", "operation": "append", "value": "{{ sys.query }}"},
                {"variable": "scale", "operation": "divide", "value": "{{ start.divisor }}"},
            ]}},
            {"id": "reply", "type": "answer", "config": {
                "answer": "turn {{ sys.dialogue_count }}: count={{ conversation.count }} said={{ conversation.said }}"}},
        ],
        "edges": [{"source": "start", "target": "remember"}, {"source": "remember", "target": "reply"}],
    }  # fmt: skip


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def say(client: APIClient, text: str, conversation: str, **extra: Any) -> Any:
    body = {"model": "memo", "messages": [{"role": "user", "content": text}], "conversation_id": conversation,
            **extra}  # fmt: skip
    return client.post("/v1/chat/completions", body, format="json")


def reply(response: Any) -> str:
    assert response.status_code == 200, response.content
    content: str = response.json()["choices"][0]["message"]["content"]
    return content


@pytest.fixture
def client(workspace: Workspace) -> APIClient:
    workflow = published_workflow(workspace=workspace, draft=memo_chat())
    deployment_of(workflow, slug="memo", execution=Execution.INLINE)
    return bearer(api_key(workspace))


def test_variables_and_the_dialogue_count_carry_into_the_next_turns(client: APIClient) -> None:
    assert reply(say(client, "hi", "c1")) == 'turn 0: count=1 said=["hi"]'
    assert reply(say(client, "again", "c1")) == 'turn 1: count=2 said=["hi", "again"]'
    assert reply(say(client, "third", "c1")) == 'turn 2: count=3 said=["hi", "again", "third"]'

    state = ConversationState.objects.get()
    assert state.variables == {"count": 3, "said": ["hi", "again", "third"], "scale": 100}
    assert state.dialogue_count == 3


def test_a_failed_turn_leaves_the_conversation_unchanged(client: APIClient) -> None:
    reply(say(client, "hi", "c1", inputs={"divisor": 4}))
    before = ConversationState.objects.values("variables", "dialogue_count", "version").get()

    failed = say(client, "boom", "c1", inputs={"divisor": 0})

    assert failed.status_code >= 400 or "division by zero" in failed.content.decode()
    assert Run.objects.filter(status=RunStatus.FAILED).count() == 1
    assert ConversationState.objects.values("variables", "dialogue_count", "version").get() == before
    assert before["variables"]["scale"] == 25
    assert reply(say(client, "later", "c1")) == 'turn 1: count=2 said=["hi", "later"]'


def test_other_conversations_keys_and_end_users_do_not_see_the_variables(
    client: APIClient, workspace: Workspace
) -> None:
    reply(say(client, "hi", "c1"))
    reply(say(client, "again", "c1"))

    assert reply(say(client, "fresh", "c2")) == 'turn 0: count=1 said=["fresh"]'
    other_key = bearer(api_key(workspace))
    assert reply(say(other_key, "mine", "c1")) == 'turn 0: count=1 said=["mine"]'
    assert reply(say(client, "me", "c1", user="someone-else")) == 'turn 0: count=1 said=["me"]'
    assert reply(say(client, "back", "c1")) == 'turn 2: count=3 said=["hi", "again", "back"]'


def test_without_a_conversation_id_nothing_is_stored_and_turns_count_from_the_messages(
    client: APIClient,
) -> None:
    messages = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                {"role": "user", "content": "c"}]  # fmt: skip

    response = client.post("/v1/chat/completions", {"model": "memo", "messages": messages}, format="json")

    assert reply(response) == 'turn 1: count=1 said=["c"]'
    assert not ConversationState.objects.exists()


def test_a_turn_that_started_from_an_older_version_does_not_overwrite_a_newer_one(
    workspace: Workspace,
) -> None:
    from django.db import transaction

    ConversationState.objects.create(
        workspace=workspace, key="k", variables={"n": 1}, version=3, dialogue_count=3
    )
    stale = LoadedConversation("k", workspace.pk, {"n": 0}, 2, version=2)
    current = LoadedConversation("k", workspace.pk, {"n": 1}, 3, version=3)

    with transaction.atomic():
        assert not conversation_save(loaded=stale, final=RunRecord("r", "succeeded", conversation={"n": 5}))
        assert conversation_save(loaded=current, final=RunRecord("r", "succeeded", conversation={"n": 2}))
        # a turn that changed nothing only counts itself, whatever version it saw
        assert conversation_save(loaded=stale, final=RunRecord("r", "succeeded", conversation={"n": 0}))

    state = ConversationState.objects.get()
    assert (state.variables, state.version, state.dialogue_count) == ({"n": 2}, 4, 5)


def test_the_variables_api_shows_a_conversation_only_to_its_key_and_end_user(
    client: APIClient, workspace: Workspace
) -> None:
    reply(say(client, "hi", "c1", user="ann"))
    url = "/v1/conversations/c1/variables"

    body = client.get(url, {"model": "memo", "user": "ann"}).json()

    assert body["conversation_id"] == "c1" and body["dialogue_count"] == 1
    assert [(v["name"], v["value_type"], v["value"]) for v in body["data"]] == [
        ("count", "number", 1), ("said", "array[string]", ["hi"]), ("scale", "number", 100)
    ]  # fmt: skip
    assert client.get(url, {"model": "memo"}).status_code == 404  # another end user
    assert client.get("/v1/conversations/c2/variables", {"model": "memo", "user": "ann"}).status_code == 404
    assert bearer(api_key(workspace)).get(url, {"model": "memo", "user": "ann"}).status_code == 404
    assert client.get(url, {"user": "ann"}).status_code == 400


def test_a_fast_chat_workflow_counts_its_turns_per_conversation(workspace: Workspace) -> None:
    draft = {
        "name": "Counter", "mode": "chat",
        "conversation_variables": [{"name": "topic", "type": "string", "default": "none"}],
        "nodes": [{"id": "start", "type": "start"}, {"id": "reply", "type": "answer", "config": {
            "answer": "turn {{ sys.dialogue_count }} on {{ conversation.topic }}"}}],
        "edges": [{"source": "start", "target": "reply"}],
    }  # fmt: skip
    deployment_of(
        published_workflow(workspace=workspace, draft=draft), slug="memo"
    )  # instant: fast nodes only
    client = bearer(api_key(workspace))

    assert [reply(say(client, "x", "c1")) for _ in range(3)] == [
        "turn 0 on none",
        "turn 1 on none",
        "turn 2 on none",
    ]
    assert ConversationState.objects.get().dialogue_count == 3
