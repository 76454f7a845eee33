"""A multi-node run with an llm node on the real local model, executed by a real worker."""

from __future__ import annotations

import subprocess

import pytest

from llmops.accounts.models import User, Workspace
from llmops.runs.models import NodeRun, RunEvent, RunStatus
from llmops.runs.services import run_start
from llmops.usage.models import UsageRecord
from tests.providers.factories import ModelEndpointFactory, endpoint_config
from tests.runs.test_runs import wait_final
from tests.studio.factories import published_workflow

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def llm_dsl() -> dict[str, object]:
    """start(topic) -> template -> llm (local Gemma) -> code (word count) -> end."""
    return {
        "inputs": [{"name": "topic", "type": "text", "required": True}],
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "ask",
                "type": "template",
                "config": {"template": "Write one sentence about {{ start.topic }}."},
            },
            {
                "id": "answer",
                "type": "llm",
                "config": {
                    "model": "local-gemma",
                    "messages": [{"role": "user", "content": "{{ ask.output }}"}],
                    "parameters": {"temperature": 0, "max_tokens": 12},
                },
            },
            {
                "id": "count",
                "type": "code",
                "config": {
                    "code": "def main(text):\n    return {'words': len(text.split())}\n",
                    "inputs": {"text": "answer.text"},
                    "outputs": {"words": "number"},
                },
            },
            {
                "id": "end",
                "type": "end",
                "config": {"outputs": {"text": "answer.text", "words": "count.words"}},
            },
        ],
        "edges": [
            {"source": "start", "target": "ask"},
            {"source": "ask", "target": "answer"},
            {"source": "answer", "target": "count"},
            {"source": "count", "target": "end"},
        ],
    }


def test_llm_run_on_the_local_model_records_usage_per_node(
    celery_worker_process: subprocess.Popen[bytes],
    local_chat_model_url: str,
    workspace: Workspace,
    owner: User,
) -> None:
    # given: the workspace's endpoint on the real llama.cpp server, and a published workflow using it
    ModelEndpointFactory.create(
        workspace=workspace, slug="local-gemma", draft=endpoint_config(base_url=local_chat_model_url,
                                                                       model="gemma3-270m")
    )  # fmt: skip
    workflow = published_workflow(workspace=workspace, slug="writer", draft=llm_dsl())
    # when
    run = wait_final(run_start(workflow=workflow, inputs={"topic": "owls"}, user=owner).id, timeout=60)
    # then
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.outputs["text"] and run.outputs["words"] == len(run.outputs["text"].split())
    llm = NodeRun.objects.get(run=run, node_id="answer")
    assert llm.prompt_tokens > 0 and llm.completion_tokens > 0
    assert run.prompt_tokens == llm.prompt_tokens
    usage = UsageRecord.objects.get(run_id=str(run.id))
    assert usage.node_id == "answer" and usage.source == "run" and usage.status == "ok"
    assert usage.prompt_tokens == llm.prompt_tokens and usage.cost > 0
    assert run.cost == usage.cost
    assert "text_chunk" in RunEvent.objects.filter(run=run).values_list("type", flat=True)
