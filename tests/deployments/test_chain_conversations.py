"""Chain memory through the public API is scoped to the deployment, the API key and the end user."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from llmops.accounts.models import Workspace
from llmops.deployments.models import Execution
from tests.deployments.factories import api_key, deployment_of
from tests.deployments.test_chain_deployments import chain_deployment
from tests.studio.factories import published_workflow
from tests.support.openai_test_server import OpenAITestServer, ok

pytestmark = pytest.mark.django_db


def _chat(
    client: APIClient, text: str, *, user: str, conversation: str = "support-1", model: str = "ask"
) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": text}], "user": user,
            "conversation_id": conversation}  # fmt: skip
    response = client.post("/v1/chat/completions", body, format="json")
    assert response.status_code == 200, response.content


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _contents(request: Any) -> list[str]:
    return [m["content"] for m in request.json["messages"] if m["role"] != "system"]


def test_another_key_or_end_user_sending_the_same_conversation_id_does_not_see_the_conversation(
    workspace: Workspace, openai_test_server: OpenAITestServer
) -> None:
    chain_deployment(workspace, openai_test_server.url, memory={"k": 5})
    openai_test_server.script(*(ok(f"answer {n}") for n in range(4)))
    alice, mallory = _bearer(api_key(workspace, name="alice")), _bearer(api_key(workspace, name="mallory"))
    # given Alice's end user tells the chain a secret in conversation "support-1"
    _chat(alice, "my card is 4111", user="u-1")
    # when another key, and another end user of Alice's app, send the same conversation id
    _chat(mallory, "what did I say?", user="u-1")
    _chat(alice, "what did I say?", user="u-2")
    # and Alice's end user continues the conversation
    _chat(alice, "and now?", user="u-1")
    # then only the last request carries the earlier turn
    sent = [_contents(request) for request in openai_test_server.requests]
    assert sent[1] == ["what did I say?"]
    assert sent[2] == ["what did I say?"]
    assert sent[3] == ["my card is 4111", "answer 0", "and now?"]


def _workflow_with_a_chain_node(workspace: Workspace) -> None:
    """Deployment ``flow``: a workflow whose chain node (chain ``ask``, with memory) keys memory by the run's
    ``sys.conversation_id`` (the client's ``conversation_id``)."""
    dsl = {
        "name": "Ask through a workflow",
        "inputs": [{"name": "query", "type": "text", "required": True}],
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "ask",
                "type": "chain",
                "config": {"chain": "ask", "inputs": {"query": "{{ start.query }}"}},
            },
            {"id": "end", "type": "end", "config": {"outputs": {"answer": "{{ ask.text }}"}}},
        ],
        "edges": [{"source": "start", "target": "ask"}, {"source": "ask", "target": "end"}],
    }
    workflow = published_workflow(workspace=workspace, slug="flow", draft=dsl)
    deployment_of(workflow, slug="flow", execution=Execution.INLINE)  # in the request: no worker needed


@pytest.mark.django_db(transaction=True)
def test_a_chain_node_of_a_deployed_workflow_scopes_the_client_s_conversation_id_too(
    workspace: Workspace, openai_test_server: OpenAITestServer
) -> None:
    chain_deployment(workspace, openai_test_server.url, memory={"k": 5})
    _workflow_with_a_chain_node(workspace)
    openai_test_server.script(*(ok(f"answer {n}") for n in range(3)))
    alice, mallory = _bearer(api_key(workspace, name="alice")), _bearer(api_key(workspace, name="mallory"))
    # given Alice's end user tells the workflow's chain a secret in conversation "support-1"
    _chat(alice, "my card is 4111", user="u-1", model="flow")
    # when another key sends the same conversation id to the same workflow
    _chat(mallory, "what did I say?", user="u-1", model="flow")
    # and Alice's end user continues the conversation
    _chat(alice, "and now?", user="u-1", model="flow")
    # then Mallory's request carried no earlier turn, and Alice's did
    sent = [_contents(request) for request in openai_test_server.requests]
    assert sent[1] == ["what did I say?"]
    assert sent[2] == ["my card is 4111", "answer 0", "and now?"]
