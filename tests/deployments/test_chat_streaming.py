"""Token streaming through the OpenAI protocol for a workflow deployment without answer nodes: the real
``openai`` SDK, a real ASGI server and Celery worker, and the real local model generating the reply."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import openai
import pytest

from llmops.accounts.models import Workspace
from llmops.deployments.models import Execution
from llmops.runs.models import Run, RunStatus
from tests.deployments.factories import api_key, deployment_of
from tests.providers.factories import ModelEndpointFactory, endpoint_config
from tests.studio.factories import published_workflow

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.timeout(180)]


def writer_dsl(max_tokens: int = 24) -> dict[str, Any]:
    """start(query) -> llm (local Gemma) -> end(result = llm.text): no answer node."""
    return {
        "inputs": [{"name": "query", "type": "text", "required": True}],
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "write",
                "type": "llm",
                "config": {
                    "model": "local-gemma",
                    "messages": [{"role": "user", "content": "{{ start.query }}"}],
                    "parameters": {"temperature": 0, "max_tokens": max_tokens},
                },
            },
            {"id": "end", "type": "end", "config": {"outputs": {"result": "write.text"}}},
        ],
        "edges": [{"source": "start", "target": "write"}, {"source": "write", "target": "end"}],
    }


def test_a_workflow_deployment_streams_the_end_nodes_reply_token_by_token(
    celery_worker_process: subprocess.Popen[bytes],
    asgi_server: str,
    local_chat_model_url: str,
    workspace: Workspace,
) -> None:
    # given: a worker-executed deployment whose end node answers with an llm node's text
    ModelEndpointFactory.create(
        workspace=workspace, slug="local-gemma",
        draft=endpoint_config(base_url=local_chat_model_url, model="gemma3-270m"),
    )  # fmt: skip
    workflow = published_workflow(workspace=workspace, slug="writer", draft=writer_dsl())
    deployment_of(workflow, slug="writer", execution=Execution.WORKER)
    client = openai.OpenAI(base_url=f"http://{asgi_server}/v1", api_key=api_key(workspace), max_retries=0)
    # when: a streamed chat completion
    arrivals: list[tuple[float, str]] = []
    finish: list[str | None] = []
    stream = client.chat.completions.create(
        model="writer", messages=[{"role": "user", "content": "Name three colours of the rainbow."}],
        stream=True, user="stream-user",
    )  # fmt: skip
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append((time.perf_counter(), chunk.choices[0].delta.content))
        if chunk.choices and chunk.choices[0].finish_reason:
            finish.append(chunk.choices[0].finish_reason)
    # then: several deltas arrived before the finish chunk, and together they are the run's reply
    run = Run.objects.get(end_user="stream-user")
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert len(arrivals) >= 3, arrivals
    assert "".join(text for _, text in arrivals) == run.outputs["result"]
    assert finish == ["stop"]
    # and they came spread over the generation, not in one burst at the end
    assert arrivals[-1][0] - arrivals[0][0] > 0


def test_a_workflow_whose_end_does_not_answer_with_a_models_text_still_answers_whole(
    celery_worker_process: subprocess.Popen[bytes], asgi_server: str, workspace: Workspace
) -> None:
    # given: an end node answering with a template's output (nothing streams)
    draft = {
        "inputs": [{"name": "query", "type": "text"}],
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "shout", "type": "template", "config": {"template": "{{ start.query | upper }}!"}},
            {"id": "end", "type": "end", "config": {"outputs": {"result": "shout.output"}}},
        ],
        "edges": [{"source": "start", "target": "shout"}, {"source": "shout", "target": "end"}],
    }
    deployment_of(published_workflow(workspace=workspace, slug="shout", draft=draft), slug="shout",
                  execution=Execution.WORKER)  # fmt: skip
    client = openai.OpenAI(base_url=f"http://{asgi_server}/v1", api_key=api_key(workspace), max_retries=0)
    # when
    chunks = list(client.chat.completions.create(
        model="shout", messages=[{"role": "user", "content": "hi"}], stream=True))  # fmt: skip
    # then: one delta with the whole reply
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert texts == ["HI!"]
