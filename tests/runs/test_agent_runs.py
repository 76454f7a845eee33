"""An agent node on the real local instruction model (Qwen2.5 1.5B on llama.cpp, function calling) using two
built-in tools in one run executed by a real worker; each step is stored as an event and in the trace."""

from __future__ import annotations

import subprocess

import pytest

from llmops.accounts.models import User, Workspace
from llmops.runs.models import NodeRun, RunEvent, RunStatus
from llmops.runs.services import run_start
from tests.providers.factories import ModelEndpointFactory, endpoint_config
from tests.runs.test_runs import wait_final
from tests.studio.factories import published_workflow

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.timeout(300)]


def agent_dsl() -> dict[str, object]:
    return {
        "inputs": [{"name": "question", "type": "text"}],
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "agent",
                "type": "agent",
                "config": {
                    "model": "local-qwen",
                    "instruction": "You answer with the tools. Call every tool the question needs, then answer "
                    "in one short sentence.",
                    "query": "{{ start.question }}",
                    "tools": ["calculator", "current_time"],
                    "strategy": "function_calling",
                    "max_iterations": 5,
                    "parameters": {"temperature": 0, "max_tokens": 200},
                },
            },
            {"id": "end", "type": "end", "config": {"outputs": {"answer": "agent.text"}}},
        ],
        "edges": [{"source": "start", "target": "agent"}, {"source": "agent", "target": "end"}],
    }


def test_an_agent_on_the_local_model_uses_two_tools(
    celery_worker_process: subprocess.Popen[bytes],
    local_instruct_model_url: str,
    workspace: Workspace,
    owner: User,
) -> None:
    # given: the instruction model and an agent with the calculator and the clock
    ModelEndpointFactory.create(
        workspace=workspace, slug="local-qwen",
        draft=endpoint_config(base_url=local_instruct_model_url, model="qwen", timeout_seconds=120),
    )  # fmt: skip
    workflow = published_workflow(workspace=workspace, slug="agent", draft=agent_dsl())
    question = (
        "Use the calculator to compute 1234 * 5678, and use current_time for the time in Asia/Shanghai."
    )
    # when
    run = wait_final(run_start(workflow=workflow, inputs={"question": question}, user=owner).id, timeout=240)
    # then: both tools were called and the answer came back
    assert run.status == RunStatus.SUCCEEDED, run.error
    node = NodeRun.objects.get(run=run, node_id="agent")
    called = {call["name"] for call in node.outputs["tool_calls"]}
    assert called == {"calculator", "current_time"}, node.outputs["tool_calls"]
    assert any("7006652" in call["result"] for call in node.outputs["tool_calls"])
    assert run.outputs["answer"], node.outputs
    # and every step is an event of the run and in the node's trace
    steps = [e.data for e in RunEvent.objects.filter(run=run, type="agent_step").order_by("seq")]
    assert [s["tool"] for s in steps][-1] is None and {s["tool"] for s in steps[:-1]} == called
    assert (
        [s["index"] for s in steps] == list(range(len(steps))) == [s["index"] for s in node.outputs["steps"]]
    )
