"""Instant runs: fast workflows execute in memory, then are stored finished in one transaction.

What a caller and the console see must be what any other run leaves behind: a final ``Run``, its node runs
and its numbered events, and the same events on the caller's stream.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from rest_framework.test import APIClient

from llmops.accounts.models import Workspace
from llmops.core.models import content_hash
from llmops.deployments.models import DeploymentRun, Execution
from llmops.runs.graphs import compiled_graph
from llmops.runs.models import Run, RunStatus
from llmops.studio.models import WorkflowVersion
from tests.deployments.factories import api_key, chat_dsl, deployment_of
from tests.studio.factories import greeting_dsl, published_workflow

pytestmark = pytest.mark.django_db


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def sse_events(response: Any) -> list[dict[str, Any]]:
    async def read() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    text = async_to_sync(read)().decode()
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def test_a_blocking_call_stores_the_finished_run_with_its_nodes_and_events(workspace: Workspace) -> None:
    deployment_of(published_workflow(workspace=workspace), slug="greet")
    body = (
        bearer(api_key(workspace))
        .post("/v1/workflows/greet/run", {"inputs": {"name": "Ada"}}, format="json")
        .json()
    )
    run = Run.objects.get(id=body["id"])
    assert (run.status, run.outputs, run.steps, run.attempts, run.claim) == (
        RunStatus.SUCCEEDED, {"answer": "Hello Ada"}, 3, 1, None,
    )  # fmt: skip
    assert run.started_at is not None and run.finished_at is not None and run.started_at <= run.finished_at
    assert run.elapsed_ms is not None and run.worker
    assert run.created_at is not None and run.cost == 0 and not run.cancel_requested
    nodes = {n.node_id: n for n in run.node_runs.all()}
    assert sorted(nodes) == ["end", "greet", "start"]
    assert nodes["greet"].outputs == {"output": "Hello Ada"} and nodes["greet"].status == "succeeded"
    # timestamps keep their microseconds through the JSON hand-over to PostgreSQL
    greet = nodes["greet"]
    assert greet.started_at is not None and greet.finished_at is not None
    events = list(run.events.order_by("seq").values_list("seq", "type", "data"))
    assert [seq for seq, _, _ in events] == list(range(1, len(events) + 1))
    assert (events[0][1], events[-1][1]) == ("run_started", "run_finished")
    assert all(data["seq"] == seq and data["run_id"] == str(run.id) for seq, _, data in events)
    assert events[-1][2]["outputs"] == {"answer": "Hello Ada"}


def test_the_stream_carries_exactly_the_stored_events(workspace: Workspace) -> None:
    deployment_of(published_workflow(workspace=workspace), slug="greet")
    response = bearer(api_key(workspace)).post(
        "/v1/workflows/greet/run", {"inputs": {"name": "Ada"}, "response_mode": "streaming"}, format="json"
    )
    streamed = sse_events(response)
    run = Run.objects.get()
    assert streamed == list(run.events.order_by("seq").values_list("data", flat=True))
    assert streamed[-1]["status"] == "succeeded"


@pytest.mark.parametrize(
    ("template", "reason"),
    [("{{ start.name | no_such_filter }}", "no_such_filter"), ("{{ start.name ~ (1 / 0) }}", "division")],
    ids=["invalid version", "node fails while running"],
)
def test_a_run_that_fails_is_stored_failed_with_its_reason(
    workspace: Workspace, template: str, reason: str
) -> None:
    deployment_of(published_workflow(workspace=workspace, draft=greeting_dsl(template)), slug="broken")
    response = bearer(api_key(workspace)).post(
        "/v1/workflows/broken/run", {"inputs": {"name": "A"}}, format="json"
    )
    body = response.json()
    assert (response.status_code, body["status"]) == (200, "failed"), body
    assert reason in body["error"]["message"]
    run = Run.objects.get()
    assert run.status == RunStatus.FAILED and reason in run.error["message"]  # type: ignore[index]
    last = run.events.order_by("-seq").first()
    assert last is not None and (last.type, last.data["status"]) == ("run_finished", "failed")


def test_a_chat_turn_is_stored_with_the_run(workspace: Workspace) -> None:
    deployment_of(published_workflow(workspace=workspace, draft=chat_dsl()), slug="chat")
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                {"role": "user", "content": "bye"}]  # fmt: skip
    bearer(api_key(workspace)).post(
        "/v1/chat/completions", {"model": "chat", "messages": messages}, format="json"
    )
    context = DeploymentRun.objects.get()
    assert (context.query, context.history) == ("bye", messages[:2])
    assert context.run.status == RunStatus.SUCCEEDED


def test_a_worker_deployment_never_runs_instantly(workspace: Workspace) -> None:
    deployment_of(published_workflow(workspace=workspace), slug="queued", execution=Execution.WORKER)
    response = bearer(api_key(workspace)).post(
        "/v1/workflows/queued/run", {"inputs": {"name": "A"}, "response_mode": "async"}, format="json"
    )
    assert response.status_code == 202
    assert Run.objects.get().status == RunStatus.QUEUED


def test_a_version_is_compiled_once_per_process_and_again_when_its_content_differs(
    workspace: Workspace,
) -> None:
    version = WorkflowVersion.objects.get(resource=published_workflow(workspace=workspace))
    assert compiled_graph(version) is compiled_graph(WorkflowVersion.objects.get(pk=version.pk))
    version.content = greeting_dsl("Hi {{ start.name }}")
    version.content_hash = content_hash(version.content)
    changed = compiled_graph(version)
    assert "Hi {{ start.name }}" in str(changed.nodes["greet"].config)
    assert "Hello" not in str(changed.nodes["greet"].config)
