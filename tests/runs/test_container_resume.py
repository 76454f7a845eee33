"""A run whose worker died in the middle of an iteration resumes at the item it had not finished, through the
platform's own execution path (``ClaimedExecution`` and ``DjangoRunStore``), in-process."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from llmops.accounts.models import User, Workspace
from llmops.runs.execution.claimed import ClaimedExecution
from llmops.runs.execution.worker import execute_run
from llmops.runs.models import NodeRun, Run, RunEvent, RunStatus
from llmops.runs.services import run_claim
from tests.conftest import client_for
from tests.studio.factories import published_workflow
from tests.workflows._helpers import FINISHED, STARTED

pytestmark = pytest.mark.django_db(transaction=True)

ITEMS = list(range(6))


def iteration_dsl() -> dict[str, Any]:
    """start(items) -> iteration(tally each item; item 3's first call never returns) -> end."""
    return {
        "name": "Per item",
        "inputs": [{"name": "items", "type": "json", "required": True}],
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "each",
                "type": "iteration",
                "config": {"items": "start.items", "output_selector": "call.value"},
            },
            {
                "id": "call",
                "type": "tally",
                "parent": "each",
                "config": {"item": "each.item", "hang_on": [3], "tokens": 2},
            },
            {"id": "end", "type": "end", "config": {"outputs": {"out": "each.output"}}},
        ],
        "edges": [{"source": "start", "target": "each"}, {"source": "each", "target": "end"}],
    }


async def _die_during_item_3(run: Run, claim: uuid.UUID) -> None:
    """Execute the run as a worker would, and kill that execution while item 3 is being called."""
    execution = asyncio.create_task(ClaimedExecution(run, claim).execute())
    deadline = time.monotonic() + 20
    while STARTED[f"{run.id}/3"] == 0:
        assert time.monotonic() < deadline, "the run never reached item 3"
        await asyncio.sleep(0.01)
    execution.cancel()
    await asyncio.gather(execution, return_exceptions=True)


def test_a_run_that_died_mid_iteration_resumes_at_the_unfinished_item(
    workspace: Workspace, owner: User
) -> None:
    # given a run whose worker died while item 3 of 6 was being called
    workflow = published_workflow(workspace=workspace, slug="per-item", draft=iteration_dsl())
    run = Run.objects.create(
        workspace=workspace,
        workflow=workflow,
        workflow_version=workflow.versions.get(),
        inputs={"items": ITEMS},
    )
    claim = uuid.uuid4()
    assert run_claim(run_id=str(run.id), claim=claim)
    asyncio.run(
        _die_during_item_3(Run.objects.select_related("workflow_version", "workspace").get(id=run.id), claim)
    )
    rows = dict(NodeRun.objects.filter(run=run).values_list("node_id", "node_type"))
    assert rows == {
        "start": "start",
        "each#0": "iteration_item",
        "each#1": "iteration_item",
        "each#2": "iteration_item",
    }
    # when another worker takes the run over after its heartbeat went stale
    Run.objects.filter(id=run.id).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    execute_run(run_id=str(run.id))
    # then it finishes once, with the outputs of an uninterrupted run, calling only items 3-5
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.attempts == 2
    assert run.outputs == {"out": [f"<{i}>" for i in ITEMS]}
    assert [STARTED[f"{run.id}/{i}"] for i in ITEMS] == [1, 1, 1, 2, 1, 1]
    assert [FINISHED[f"{run.id}/{i}"] for i in ITEMS] == [1] * 6
    assert run.prompt_tokens == 12  # restored items' usage is counted again
    restored = RunEvent.objects.filter(run=run, type="node_restored").order_by("seq")
    assert [(e.data["node_id"], e.data["parent_id"], e.data["index"]) for e in restored] == [
        ("start", None, None),
        ("each#0", "each", 0),
        ("each#1", "each", 1),
        ("each#2", "each", 2),
    ]
    # and the console timeline lists each item before its iteration, told apart by id and node type
    nodes = client_for(owner).get(f"/api/workspaces/acme/runs/{run.id}/").json()["nodes"]
    assert [(n["node_id"], n["node_type"]) for n in nodes] == [
        ("start", "start"),
        *((f"each#{i}", "iteration_item") for i in ITEMS),
        ("each", "iteration"),
        ("end", "end"),
    ]
    assert nodes[1]["outputs"]["output"] == "<0>" and nodes[1]["prompt_tokens"] == 2
