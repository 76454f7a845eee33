"""Runs end to end: API -> PostgreSQL -> real Celery worker -> engine -> checkpoints and events."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.test import override_settings
from django.utils import timezone
from knox.models import AuthToken
from websockets.sync.client import connect

from llmops.accounts.models import Role, User, Workspace
from llmops.runs.consumers import _after
from llmops.runs.models import NodeRun, Run, RunEvent, RunStatus
from llmops.runs.services import run_start, runs_sweep
from llmops.runs.tasks import run_execute
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.conftest import client_for
from tests.studio.factories import published_workflow
from tests.support.processes import wait_until_dead

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

Worker = subprocess.Popen[bytes]


def wait_final(run_id: Any, timeout: float = 30.0) -> Run:
    """The run once it is final and its ``run_finished`` event is stored: the worker writes the final state
    first and publishes the event right after, so a test reading events must wait for both."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = Run.objects.get(id=run_id)
        if run.is_final and RunEvent.objects.filter(run=run, type="run_finished").exists():
            return run
        time.sleep(0.05)
    run = Run.objects.get(id=run_id)
    raise AssertionError(f"run {run_id} did not finish: {run.status}, events {event_types(run)}")


def event_types(run: Run) -> list[str]:
    return list(RunEvent.objects.filter(run=run).order_by("seq").values_list("type", flat=True))


def test_run_executes_on_a_real_worker_with_checkpoints_and_events(
    celery_worker_process: Worker, workspace: Workspace, owner: User
) -> None:
    published_workflow(workspace=workspace, slug="greeting")
    response = client_for(owner).post(
        "/api/workspaces/acme/workflows/greeting/run/", {"inputs": {"name": "Ada"}}, format="json"
    )
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"
    run = wait_final(response.json()["id"])
    assert run.status == RunStatus.SUCCEEDED and run.outputs == {"answer": "Hello Ada"}
    assert run.attempts == 1 and run.steps == 3
    detail = client_for(owner).get(f"/api/workspaces/acme/runs/{run.id}/").json()
    assert [(n["node_id"], n["status"]) for n in detail["nodes"]] == [
        ("start", "succeeded"), ("greet", "succeeded"), ("end", "succeeded"),
    ]  # fmt: skip
    assert event_types(run) == ["run_started"] + ["node_started", "node_finished"] * 3 + ["run_finished"]
    assert list(RunEvent.objects.filter(run=run).values_list("seq", flat=True)) == list(range(1, 9))


def test_missing_inputs_are_refused_naming_them_and_no_run_is_created(
    workspace: Workspace, owner: User
) -> None:
    published_workflow(workspace=workspace, slug="greeting")
    response = client_for(owner).post(
        "/api/workspaces/acme/workflows/greeting/run/", {"inputs": {}}, format="json"
    )
    assert response.status_code == 400
    assert "inputs.name" in response.json()["error"]["fields"]
    assert Run.objects.count() == 0


def test_a_workflow_never_published_cannot_run(workspace: Workspace, owner: User) -> None:
    from tests.studio.factories import WorkflowFactory

    WorkflowFactory.create(workspace=workspace, slug="draft-only")
    response = client_for(owner).post(
        "/api/workspaces/acme/workflows/draft-only/run/", {"inputs": {"name": "x"}}, format="json"
    )
    assert response.status_code == 404
    assert "no published version" in response.json()["error"]["message"]


def test_sse_replays_events_after_last_event_id(
    celery_worker_process: Worker, asgi_server: str, workspace: Workspace, owner: User
) -> None:
    workflow = published_workflow(workspace=workspace, slug="greeting")
    run = wait_final(run_start(workflow=workflow, inputs={"name": "Ada"}, user=owner).id)
    token = AuthToken.objects.create(owner)[1]
    headers = {"Authorization": f"Token {token}", "Last-Event-ID": "3"}
    url = f"http://{asgi_server}/api/workspaces/acme/runs/{run.id}/events/"
    with httpx.stream("GET", url, headers=headers, timeout=10) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        body = "".join(response.iter_text())
    ids = [int(line[4:]) for line in body.splitlines() if line.startswith("id: ")]
    assert ids == list(range(4, 9))
    assert body.rstrip().splitlines()[-1].startswith("data: ") and "run_finished" in body.split("event: ")[-1]


def test_websocket_streams_a_live_run_in_order_without_gaps(
    celery_worker_process: Worker, asgi_server: str, workspace: Workspace, owner: User
) -> None:
    workflow = published_workflow(workspace=workspace, slug="greeting")
    run = run_start(workflow=workflow, inputs={"name": "Ada"}, user=owner)
    token = AuthToken.objects.create(owner)[1]
    received: list[dict[str, Any]] = []
    auth = {"Authorization": f"Token {token}"}
    with connect(
        f"ws://{asgi_server}/ws/runs/{run.id}/?after=0", additional_headers=auth, open_timeout=5
    ) as ws:
        while not received or received[-1]["type"] != "run_finished":
            received.append(json.loads(ws.recv(timeout=20)))
    assert [e["seq"] for e in received] == list(range(1, len(received) + 1))
    assert received[-1]["status"] == "succeeded" and received[-1]["outputs"] == {"answer": "Hello Ada"}


def test_a_websocket_query_string_that_is_not_utf8_never_fails_the_server(
    asgi_server: str, workspace: Workspace, owner: User
) -> None:
    # given a run, and a client that sends raw non-UTF-8 bytes in the query string of the handshake
    run = Run.objects.create(
        workspace=workspace, workflow=(wf := published_workflow(workspace=workspace)),
        workflow_version=wf.versions.get(), inputs={"name": "x"},
    )  # fmt: skip
    token = AuthToken.objects.create(owner)[1]
    host, port = asgi_server.split(":")
    handshake = (
        f"GET /ws/runs/{run.id}/?after=\xff\xfe1 HTTP/1.1\r\nHost: {asgi_server}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"Authorization: Token {token}\r\n\r\n"
    ).encode("latin-1")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(handshake)
        answer = conn.recv(4096)
    # then the server refuses the request line (400) or accepts the socket, never fails (5xx)
    assert answer.startswith((b"HTTP/1.1 101", b"HTTP/1.1 400")), answer[:200]
    # and an ASGI server that passes such bytes on gets the cursor read as "from the start"
    assert _after(b"after=\xff\xfe1") == 0 and _after(b"after=7&x=\xff") == 7


def test_outsider_cannot_watch_a_run(
    asgi_server: str, workspace: Workspace, owner: User, outsider: User
) -> None:
    from websockets.exceptions import ConnectionClosed

    run = Run.objects.create(
        workspace=workspace, workflow=(wf := published_workflow(workspace=workspace)),
        workflow_version=wf.versions.get(), inputs={"name": "x"},
    )  # fmt: skip
    token = AuthToken.objects.create(outsider)[1]
    url = f"ws://{asgi_server}/ws/runs/{run.id}/"
    auth = {"Authorization": f"Token {token}"}
    with (
        connect(url, additional_headers=auth, open_timeout=5) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
    assert client_for(outsider).get(f"/api/workspaces/acme/runs/{run.id}/").status_code == 404


def test_orphaned_run_resumes_from_its_checkpoints_on_another_worker(
    celery_worker_process: Worker, workspace: Workspace
) -> None:
    # given: a run whose worker died after checkpointing start and greet (its heartbeat is stale)
    workflow = published_workflow(workspace=workspace, slug="greeting")
    stale = timezone.now() - timedelta(minutes=5)
    run = Run.objects.create(
        workspace=workspace,
        workflow=workflow,
        workflow_version=workflow.versions.get(),
        inputs={"name": "Ada"},
        status=RunStatus.RUNNING,
        heartbeat_at=stale,
        claim=uuid.uuid4(),
        attempts=1,
        started_at=stale,
        enqueued_at=stale,
    )
    checkpoints = [
        ("start", "start", {"name": "Ada"}),
        ("greet", "template", {"output": "Hello from the checkpoint"}),
    ]
    for sequence, (node_id, node_type, outputs) in enumerate(checkpoints, start=1):
        NodeRun.objects.create(
            run=run,
            node_id=node_id,
            node_type=node_type,
            status="succeeded",
            outputs=outputs,
            branch="source",
            sequence=sequence,
        )
    RunEvent.objects.create(run=run, seq=1, type="run_started", data={"seq": 1, "type": "run_started"})
    # when: the sweeper finds it
    with override_settings(LLMOPS_RUN_STALE_SECONDS=3):
        assert runs_sweep() == 1
    # then: it finishes once, without running the checkpointed nodes again
    run = wait_final(run.id)
    assert run.status == RunStatus.SUCCEEDED
    assert run.outputs == {"answer": "Hello from the checkpoint"}
    assert run.attempts == 2
    types = event_types(run)
    assert types.count("node_restored") == 2 and types.count("run_finished") == 1
    assert list(RunEvent.objects.filter(run=run).values_list("seq", flat=True)) == list(
        range(1, len(types) + 1)
    )


def test_duplicate_deliveries_execute_a_run_once(celery_worker_process: Worker, workspace: Workspace) -> None:
    workflow = published_workflow(workspace=workspace, slug="greeting")
    run = run_start(workflow=workflow, inputs={"name": "Ada"}, user=None)
    for _ in range(3):
        run_execute.delay(str(run.id))
    run = wait_final(run.id)
    time.sleep(0.5)  # let the duplicates reach the worker and lose the claim
    assert run.attempts == 1
    assert event_types(run).count("run_started") == 1


def test_queued_run_the_broker_never_delivered_is_enqueued_by_the_sweeper(
    celery_worker_process: Worker, workspace: Workspace
) -> None:
    # given: a run accepted while the broker was down (stored, never enqueued)
    workflow = published_workflow(workspace=workspace, slug="greeting")
    run = Run.objects.create(workspace=workspace, workflow=workflow, workflow_version=workflow.versions.get(),
                             inputs={"name": "Ada"})  # fmt: skip
    Run.objects.filter(id=run.id).update(enqueued_at=timezone.now() - timedelta(minutes=5))
    # when
    assert runs_sweep() == 1
    # then
    assert wait_final(run.id).status == RunStatus.SUCCEEDED


def test_cancelling_a_queued_run_ends_it_and_a_late_delivery_does_nothing(
    celery_worker_process: Worker, workspace: Workspace, owner: User
) -> None:
    workflow = published_workflow(workspace=workspace, slug="greeting")
    run = Run.objects.create(workspace=workspace, workflow=workflow, workflow_version=workflow.versions.get(),
                             inputs={"name": "Ada"})  # fmt: skip
    response = client_for(owner).post(f"/api/workspaces/acme/runs/{run.id}/cancel/")
    assert response.json()["status"] == "cancelled"
    assert event_types(run) == ["run_finished"]
    run_execute.delay(str(run.id))
    time.sleep(1)
    assert Run.objects.get(id=run.id).status == RunStatus.CANCELLED
    again = client_for(owner).post(f"/api/workspaces/acme/runs/{run.id}/cancel/")
    assert again.status_code == 409


def test_rerun_starts_a_new_run_with_the_same_inputs(
    celery_worker_process: Worker, workspace: Workspace, owner: User
) -> None:
    workflow = published_workflow(workspace=workspace, slug="greeting")
    first = wait_final(run_start(workflow=workflow, inputs={"name": "Ada"}, user=owner).id)
    response = client_for(owner).post(f"/api/workspaces/acme/runs/{first.id}/rerun/")
    assert response.status_code == 202
    second = wait_final(response.json()["id"])
    assert (
        second.inputs == first.inputs and second.rerun_of_id == first.id and second.outputs == first.outputs
    )


@pytest.mark.parametrize(("persona", "read", "cancel"), [("owner", 200, 200), ("viewer", 200, 403),
                                                          ("outsider", 404, 404)])  # fmt: skip
def test_runs_api_is_scoped_by_membership_and_role(
    persona: str, read: int, cancel: int, workspace: Workspace, owner: User, outsider: User
) -> None:
    workflow = published_workflow(workspace=workspace, slug="greeting")
    run = Run.objects.create(workspace=workspace, workflow=workflow, workflow_version=workflow.versions.get(),
                             inputs={"name": "Ada"})  # fmt: skip
    user = {"owner": owner, "outsider": outsider}.get(persona) or MembershipFactory.create(
        workspace=workspace, user=UserFactory.create(username="vera"), role=Role.VIEWER
    ).user
    client = client_for(user)
    assert client.get(f"/api/workspaces/acme/runs/{run.id}/").status_code == read
    listing = client.get("/api/workspaces/acme/runs/")
    assert listing.status_code == read
    assert client.post(f"/api/workspaces/acme/runs/{run.id}/cancel/").status_code == cancel


def test_run_list_filters_by_status(workspace: Workspace, owner: User) -> None:
    workflow = published_workflow(workspace=workspace, slug="greeting")
    version = workflow.versions.get()
    for status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
        Run.objects.create(workspace=workspace, workflow=workflow, workflow_version=version, status=status)
    listing = client_for(owner).get("/api/workspaces/acme/runs/?status=failed").json()
    assert [r["status"] for r in listing["results"]] == ["failed"]
    bad = client_for(owner).get("/api/workspaces/acme/runs/?status=sideways")
    assert bad.status_code == 400


def test_run_list_filters_by_deployment(workspace: Workspace, owner: User) -> None:
    # given: a call of deployment 7, one of deployment 8 and a console run
    workflow = published_workflow(workspace=workspace, slug="greeting")
    version = workflow.versions.get()
    for deployment_id in (7, 8, None):
        Run.objects.create(
            workspace=workspace, workflow=workflow, workflow_version=version, deployment_id=deployment_id
        )
    # when / then: only deployment 7's call is listed
    listing = client_for(owner).get("/api/workspaces/acme/runs/?deployment=7").json()
    assert len(listing["results"]) == 1
    assert Run.objects.get(id=listing["results"][0]["id"]).deployment_id == 7
    assert client_for(owner).get("/api/workspaces/acme/runs/?deployment=x").status_code == 400


def _long_chain(workspace: Workspace, nodes: int = 400) -> Any:
    from tests.benchmarks._runs_harness import chain_dsl

    return published_workflow(workspace=workspace, slug="long", draft=chain_dsl(nodes))


def _wait_for_checkpoints(run: Run, count: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while NodeRun.objects.filter(run=run).count() < count:
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.02)


def test_worker_killed_with_sigkill_mid_run_is_resumed_and_finishes_once(
    celery_worker_process: Worker, workspace: Workspace
) -> None:
    import signal

    # given: a long run in progress on the worker
    run = run_start(workflow=_long_chain(workspace), inputs={"text": "x"}, user=None)
    _wait_for_checkpoints(run, 20)
    run.refresh_from_db()
    pid = int(run.worker.rsplit(":", 1)[1])
    # when: the process executing it is killed without warning
    os.kill(pid, signal.SIGKILL)
    checkpoints_at_kill = NodeRun.objects.filter(run=run).count()
    wait_until_dead(pid)
    # and its heartbeat goes stale (backdated rather than waited for: the sweeper compares it with now)
    long_ago = timezone.now() - timedelta(minutes=5)
    assert Run.objects.filter(id=run.id, claim=run.claim).update(heartbeat_at=long_ago, enqueued_at=long_ago)
    with override_settings(LLMOPS_RUN_STALE_SECONDS=3):
        runs_sweep()
    # then: another worker process resumes it from the checkpoints and it completes exactly once
    run = wait_final(run.id, timeout=60)
    assert run.status == RunStatus.SUCCEEDED and run.attempts >= 2
    assert int(run.worker.rsplit(":", 1)[1]) != pid
    types = event_types(run)
    assert types.count("run_finished") == 1
    assert types.count("node_restored") >= checkpoints_at_kill - 1
    assert NodeRun.objects.filter(run=run).count() == 400


def test_cancelling_a_running_run_stops_its_nodes(
    celery_worker_process: Worker, workspace: Workspace, owner: User
) -> None:
    run = run_start(workflow=_long_chain(workspace, 1500), inputs={"text": "x"}, user=owner)
    _wait_for_checkpoints(run, 10)
    response = client_for(owner).post(f"/api/workspaces/acme/runs/{run.id}/cancel/")
    assert response.status_code == 200 and response.json()["cancel_requested"] is True
    run = wait_final(run.id, timeout=15)
    assert run.status == RunStatus.CANCELLED
    assert NodeRun.objects.filter(run=run, status="succeeded").count() < 1500
    assert event_types(run)[-1] == "run_finished"


def test_the_sweeper_sends_one_message_per_period_not_one_per_sweep(
    celery_worker_process: Worker, workspace: Workspace
) -> None:
    # given: a queued run whose message went missing long ago
    workflow = published_workflow(workspace=workspace, slug="greeting")
    run = Run.objects.create(
        workspace=workspace,
        workflow=workflow,
        workflow_version=workflow.versions.get(),
        inputs={"name": "Ada"},
    )
    Run.objects.filter(id=run.id).update(enqueued_at=timezone.now() - timedelta(minutes=5))
    # when: beat sweeps twice in a row
    first, second = runs_sweep(), runs_sweep()
    # then: one message was sent, and the run completes once
    assert (first, second) == (1, 0)
    assert wait_final(run.id).attempts == 1


@pytest.mark.parametrize("run_id", ["-" * 36, "a" * 36, "not-a-run"])
def test_malformed_run_ids_are_not_found(run_id: str, workspace: Workspace, owner: User) -> None:
    client = client_for(owner)
    assert client.get(f"/api/workspaces/acme/runs/{run_id}/").status_code == 404
    assert client.post(f"/api/workspaces/acme/runs/{run_id}/cancel/").status_code == 404
