"""The run claim: one execution owns a run at a time, and one that lost it writes nothing more.

A claim is a compare-and-set on the run row (``runs.services.run_claim``). The sweeper hands a run whose heartbeat
went stale to another worker even when its first worker is alive but slow (a long pause, a database hiccup eating
its heartbeats); that first execution must then be refused at its next checkpoint or event and stop, or both
would write the same event numbers and run the same side effects twice.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from llmops.accounts.models import Workspace
from llmops.runs.claimed_writes import ClaimLost
from llmops.runs.events import RunEventWriter
from llmops.runs.execution.claimed import ClaimedExecution
from llmops.runs.models import NodeRun, Run, RunEvent, RunStatus
from llmops.runs.services import run_claim
from llmops.runs.store import DjangoRunStore
from tests.studio.factories import published_workflow
from tests.workflows._helpers import ATTEMPTS
from workflows import NodeRecord

pytestmark = pytest.mark.django_db(transaction=True)


def _run(workspace: Workspace, draft: dict[str, Any] | None = None, **fields: Any) -> Run:
    kwargs: dict[str, Any] = {"workspace": workspace, "slug": f"wf-{uuid.uuid4().hex[:8]}"}
    if draft is not None:
        kwargs["draft"] = draft
    workflow = published_workflow(**kwargs)
    return Run.objects.create(
        workspace=workspace, workflow=workflow, workflow_version=workflow.versions.get(), inputs={"name": "Ada"},
        **fields,
    )  # fmt: skip


def _stale(run: Run) -> None:
    """The run's heartbeat is older than the stale limit: the sweeper would hand it to another worker."""
    Run.objects.filter(id=run.id).update(heartbeat_at=timezone.now() - timedelta(minutes=5))


def _race(run_id: str, contenders: int = 2) -> list[bool]:
    """``contenders`` threads, each on its own database connection, claim the run at the same instant."""
    barrier = threading.Barrier(contenders)
    results: list[bool] = []

    def contend() -> None:
        try:
            barrier.wait()
            results.append(run_claim(run_id=run_id, claim=uuid.uuid4()))
        finally:
            connection.close()

    threads = [threading.Thread(target=contend) for _ in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results


@pytest.mark.parametrize("state", ["queued", "running with a stale heartbeat"])
def test_of_two_concurrent_claims_of_the_same_run_exactly_one_wins(workspace: Workspace, state: str) -> None:
    for _ in range(10):  # several rounds: a lost race must never happen to let both through
        # given a claimable run
        run = _run(workspace)
        if state != "queued":
            Run.objects.filter(id=run.id).update(status=RunStatus.RUNNING, claim=uuid.uuid4(), attempts=1)
            _stale(run)
        # when two workers claim it at once
        results = _race(str(run.id))
        # then exactly one wins, and the run counts one more attempt
        assert sorted(results) == [False, True]
        assert Run.objects.get(id=run.id).attempts == (1 if state == "queued" else 2)


def test_a_claim_taken_over_refuses_the_first_owners_checkpoints_and_events(workspace: Workspace) -> None:
    # given a run claimed by a first execution, which checkpointed a node and stored an event
    run = _run(workspace)
    first, second = uuid.uuid4(), uuid.uuid4()
    assert run_claim(run_id=str(run.id), claim=first)
    store, writer = DjangoRunStore(first), RunEventWriter(str(run.id), 1, claim=first)
    node = NodeRecord("greet", "succeeded", outputs={"output": "first"}, node_type="template")
    asyncio.run(store.checkpoint(str(run.id), node))
    asyncio.run(writer.write({"type": "run_started", "run_id": str(run.id)}))
    # when its heartbeat goes stale and another execution claims the run
    _stale(run)
    assert run_claim(run_id=str(run.id), claim=second)
    # then the first execution's checkpoint and event are refused, and nothing of it lands
    late = NodeRecord("greet", "succeeded", outputs={"output": "late"}, node_type="template")
    with pytest.raises(ClaimLost):
        asyncio.run(store.checkpoint(str(run.id), late))
    with pytest.raises(ClaimLost):
        asyncio.run(writer.write({"type": "node_started", "run_id": str(run.id), "node_id": "greet"}))
    assert NodeRun.objects.get(run=run, node_id="greet").outputs == {"output": "first"}
    assert list(RunEvent.objects.filter(run=run).values_list("seq", "type")) == [(1, "run_started")]
    # while the new owner's writes land
    asyncio.run(DjangoRunStore(second).checkpoint(str(run.id), late))
    assert NodeRun.objects.get(run=run, node_id="greet").outputs == {"output": "late"}


def _slow_dsl() -> dict[str, Any]:
    """start -> slow (a probe that takes a while) -> after (a probe) -> end."""
    return {
        "name": "Slow",
        "inputs": [{"name": "name", "type": "text", "required": True}],
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "slow", "type": "probe", "config": {"sleep": 1.0, "value": "slow"}},
            {"id": "after", "type": "probe", "config": {"value": "after"}},
            {"id": "end", "type": "end", "config": {"outputs": {"out": "after.value"}}},
        ],
        "edges": [
            {"source": "start", "target": "slow"},
            {"source": "slow", "target": "after"},
            {"source": "after", "target": "end"},
        ],
    }


async def _taken_over_while_slow(
    run: Run, first: uuid.UUID, second: uuid.UUID
) -> tuple[ClaimedExecution, int]:
    """Execute as the first owner; while its slow node runs, another execution claims the run. Returns the
    first execution once it stopped, and the number of events stored at the takeover."""
    execution = ClaimedExecution(run, first)
    task = asyncio.create_task(execution.execute())
    deadline = time.monotonic() + 20
    while ATTEMPTS[f"{run.id}/slow"] == 0:
        assert time.monotonic() < deadline, "the run never reached its slow node"
        await asyncio.sleep(0.01)
    await sync_to_async(_stale)(run)
    assert await sync_to_async(run_claim)(run_id=str(run.id), claim=second)
    stored = await RunEvent.objects.filter(run=run).acount()
    await asyncio.wait_for(task, 20)
    return execution, stored


@override_settings(LLMOPS_RUN_HEARTBEAT_SECONDS=600)  # only the writes can tell it lost the run
def test_a_slow_execution_whose_run_was_taken_over_stops_at_its_next_write(workspace: Workspace) -> None:
    # given a run executing on a slow but alive worker
    run = _run(workspace, draft=_slow_dsl())
    first, second = uuid.uuid4(), uuid.uuid4()
    assert run_claim(run_id=str(run.id), claim=first)
    run = Run.objects.select_related("workflow_version", "workspace").get(id=run.id)
    # when the run is handed to another execution while the first is inside its slow node
    execution, stored = asyncio.run(_taken_over_while_slow(run, first, second))
    # then the first execution stopped quietly: no checkpoint, event or final state of it after the takeover,
    # and the node after the slow one never ran
    assert execution.lost
    assert set(NodeRun.objects.filter(run=run).values_list("node_id", flat=True)) == {"start"}
    assert RunEvent.objects.filter(run=run).count() == stored
    assert ATTEMPTS[f"{run.id}/after"] == 0
    taken = Run.objects.get(id=run.id)
    assert (taken.status, taken.claim, taken.error) == (RunStatus.RUNNING, second, None)
    # and the new owner resumes it to one finish, its events numbered on without a gap or a duplicate
    owner = Run.objects.select_related("workflow_version", "workspace").get(id=run.id)
    asyncio.run(ClaimedExecution(owner, second).execute())
    finished = Run.objects.get(id=run.id)
    assert finished.status == RunStatus.SUCCEEDED and finished.outputs == {"out": "after"}
    events = list(RunEvent.objects.filter(run=run).order_by("seq").values_list("seq", "type"))
    assert [seq for seq, _ in events] == list(range(1, len(events) + 1))
    assert [kind for _, kind in events].count("run_finished") == 1
    assert ATTEMPTS[f"{run.id}/slow"] == 2 and ATTEMPTS[f"{run.id}/after"] == 1
