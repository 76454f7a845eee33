"""Failure answers that clients do not retry into duplicate runs: the real ``openai`` SDK (which retries 5xx
answers twice by default) against workflow deployments that fail, through a real ASGI server."""

from __future__ import annotations

import subprocess
from typing import Any

import httpx
import openai
import pytest

from llmops.accounts.models import Workspace
from llmops.runs.models import Run, RunStatus
from tests.deployments.factories import api_key, deployment_of
from tests.studio.factories import published_workflow

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
Worker = subprocess.Popen[bytes]


def failing_dsl(node: dict[str, Any]) -> dict[str, Any]:
    """start(query) -> node -> end(result = node's first output)."""
    output = {"code": "result", "http_request": "status_code"}[node["type"]]
    return {
        "inputs": [{"name": "query", "type": "text"}],
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "step", **node},
            {"id": "end", "type": "end", "config": {"outputs": {"result": f"step.{output}"}}},
        ],
        "edges": [{"source": "start", "target": "step"}, {"source": "step", "target": "end"}],
    }


RAISES = {"type": "code", "config": {
    "code": "def main(query):\n    raise ValueError('no answer for ' + query)\n",
    "inputs": {"query": "start.query"}, "outputs": {"result": "string"}}}  # fmt: skip
BLOCKED = {
    "type": "http_request",
    "config": {"method": "GET", "url": "http://169.254.169.254/latest/meta-data"},
}


@pytest.mark.parametrize("node", [RAISES, BLOCKED], ids=["node-error", "blocked-url"])
def test_a_failed_run_is_a_422_the_sdk_does_not_retry_and_exactly_one_run(
    celery_worker_process: Worker, asgi_server: str, workspace: Workspace, node: dict[str, Any]
) -> None:
    # given: a deployment whose workflow fails, and the SDK with its default retries (2)
    deployment_of(
        published_workflow(workspace=workspace, slug="fails", draft=failing_dsl(node)), slug="fails"
    )
    client = openai.OpenAI(base_url=f"http://{asgi_server}/v1", api_key=api_key(workspace))
    assert client.max_retries == 2
    # when
    with pytest.raises(openai.UnprocessableEntityError) as raised:
        client.chat.completions.create(
            model="fails", messages=[{"role": "user", "content": "x"}], user="once"
        )
    # then: one run, failed, named in the error with its public code
    (run,) = Run.objects.filter(end_user="once")
    assert run.status == RunStatus.FAILED
    error = raised.value.body
    assert isinstance(error, dict)
    assert (error["code"], error["run_id"], error["type"]) == ("run_failed", str(run.id), "run_failed")
    assert str(run.id) in error["message"], run.error


def test_the_run_api_answers_a_failed_run_with_its_payload_and_the_stream_with_its_id(
    celery_worker_process: Worker, asgi_server: str, workspace: Workspace
) -> None:
    deployment_of(
        published_workflow(workspace=workspace, slug="fails", draft=failing_dsl(RAISES)), slug="fails"
    )
    headers = {"Authorization": f"Bearer {api_key(workspace)}"}
    # the run API: 200 with the failed run (Dify's answer), no 5xx
    response = httpx.post(f"http://{asgi_server}/v1/workflows/fails/run", headers=headers, timeout=30,
                          json={"inputs": {"query": "x"}})  # fmt: skip
    assert (response.status_code, response.json()["status"]) == (200, "failed")
    # a streamed chat completion: the error chunk names the run
    streamed = httpx.post(
        f"http://{asgi_server}/v1/chat/completions",
        headers=headers,
        timeout=30,
        json={
            "model": "fails",
            "messages": [{"role": "user", "content": "x"}],
            "stream": True,
            "user": "streamer",
        },
    )
    run = Run.objects.get(end_user="streamer")
    assert streamed.status_code == 200
    assert f'"run_id": "{run.id}"' in streamed.text and '"code": "run_failed"' in streamed.text
