"""The public API while Redis is down (a real server, stopped): clear 503s, async calls kept, runs unharmed."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

import pytest
from rest_framework.test import APIClient

from llmops.accounts.models import Workspace
from llmops.deployments.models import Deployment
from llmops.runs.models import Run, RunStatus
from llmops.runs.services import runs_sweep
from tests.deployments.factories import DeploymentFactory, api_key
from tests.support.redis_outage import ThrowawayRedis

pytestmark = pytest.mark.django_db


@pytest.fixture
def deployment(workspace: Workspace) -> Deployment:
    return DeploymentFactory.create(workspace=workspace, slug="greet")


@pytest.fixture
def client(workspace: Workspace, deployment: Deployment) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key(workspace)}")
    return client


def _call(client: APIClient, mode: str, **extra: Any) -> Any:
    return client.post("/v1/workflows/greet/run", {"inputs": {"name": "Ada"}, "response_mode": mode},
                       format="json", **extra)  # fmt: skip


@pytest.mark.parametrize("mode", ["blocking", "streaming"])
def test_a_call_that_needs_redis_is_refused_with_503_and_retry_after_while_it_is_down(
    client: APIClient, throwaway_redis: ThrowawayRedis, mode: str
) -> None:
    # given Redis goes down
    throwaway_redis.stop()
    # when a blocking or streaming call comes in
    response = _call(client, mode)
    # then it is a clear 503 with a hint when to retry, and no run was started
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "service_unavailable"
    assert int(response["Retry-After"]) >= 1
    assert not Run.objects.exists()
    # and once Redis is back the same call works again
    throwaway_redis.start()
    assert _call(client, "blocking").status_code == 200


def test_an_async_call_is_accepted_while_redis_is_down_and_enqueued_once_it_is_back(
    client: APIClient,
    throwaway_redis: ThrowawayRedis,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    throwaway_redis.stop()
    with django_capture_on_commit_callbacks(execute=True):
        response = _call(client, "async")
    assert response.status_code == 202, response.content
    run = Run.objects.get(id=response.json()["id"])
    assert run.status == RunStatus.QUEUED
    # when Redis is back, the sweeper enqueues the waiting run
    throwaway_redis.start()
    settings.LLMOPS_RUN_REQUEUE_SECONDS = 0
    assert runs_sweep() == 1
    messages = cast(list[bytes], throwaway_redis.client().lrange("runs", 0, -1))
    queued = [json.loads(message) for message in messages]
    assert [m["headers"]["task"] for m in queued] == ["llmops.deployments.execute"]
    assert str(run.id) in queued[0]["headers"]["argsrepr"]


def test_the_request_limit_still_holds_in_the_process_while_redis_is_down(
    workspace: Workspace, deployment: Deployment, throwaway_redis: ThrowawayRedis
) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key(workspace, requests_per_minute=2)}")
    throwaway_redis.stop()
    statuses = [client.get(f"/v1/runs/{'0' * 8}-0000-0000-0000-{'0' * 12}").status_code for _ in range(3)]
    assert statuses == [404, 404, 429]


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_event_publish_fails_keeps_running_and_its_events_are_stored_and_readable(
    workspace: Workspace, throwaway_redis: ThrowawayRedis
) -> None:
    from llmops.runs.execution.worker import execute_run
    from llmops.runs.services import run_start
    from llmops.runs.streaming import run_events
    from tests.studio.factories import published_workflow

    run = run_start(workflow=published_workflow(workspace=workspace), inputs={"name": "Ada"}, user=None)
    # given Redis goes down before the worker executes the run
    throwaway_redis.stop()
    # when it executes
    execute_run(run_id=str(run.id))
    # then it succeeds
    run.refresh_from_db()
    assert (run.status, run.outputs) == (RunStatus.SUCCEEDED, {"answer": "Hello Ada"})

    # and its events are stored and readable (from storage: the channel layer is still down)
    async def read() -> list[str]:
        return [e["type"] async for e in run_events(str(run.id)) if e is not None]

    types = asyncio.run(read())
    assert (types[0], types[-1], types.count("node_finished")) == ("run_started", "run_finished", 3)


def test_a_chain_call_is_refused_with_503_while_redis_is_down(
    workspace: Workspace, throwaway_redis: ThrowawayRedis, openai_test_server: Any
) -> None:
    from tests.deployments.test_chain_deployments import chain_deployment

    chain_deployment(workspace, openai_test_server.url)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key(workspace)}")
    throwaway_redis.stop()
    body = {"model": "ask", "messages": [{"role": "user", "content": "Hi"}]}
    response = client.post("/v1/chat/completions", body, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (503, "service_unavailable")
    assert int(response["Retry-After"]) >= 1
    assert openai_test_server.requests == []
