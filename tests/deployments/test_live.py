"""The public API against real processes: uvicorn (ASGI) and a Celery worker, the official ``openai`` SDK,
LangChain's ``ChatOpenAI``, SSE order, and signed webhooks delivered with retries to a loopback receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import openai
import pytest
from langchain_openai import ChatOpenAI

from llmops.accounts.models import Workspace
from llmops.deployments import services
from llmops.deployments.models import Execution
from llmops.runs.models import Run
from tests.deployments.factories import api_key, chat_dsl, deployment_of
from tests.studio.factories import published_workflow

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
Worker = subprocess.Popen[bytes]


@pytest.fixture
def token(workspace: Workspace) -> str:
    deployment_of(published_workflow(workspace=workspace, draft=chat_dsl()), slug="chat")
    deployment_of(published_workflow(workspace=workspace), slug="greet")
    deployment_of(published_workflow(workspace=workspace), slug="greet-worker", execution=Execution.WORKER)
    return api_key(workspace)


def sse_types(text: str) -> list[str]:
    return re.findall(r"^event: (\w+)$", text, re.M)


def test_openai_sdk_plain_and_streaming_with_usage(asgi_server: str, token: str) -> None:
    client = openai.OpenAI(base_url=f"http://{asgi_server}/v1", api_key=token, max_retries=0)
    reply = client.chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "ping"}], user="u-1"
    )
    assert reply.choices[0].message.content == "You said: ping"
    assert reply.usage is not None and reply.usage.total_tokens == 0
    chunks = list(client.chat.completions.create(
        model="chat", messages=[{"role": "user", "content": "stream me"}], stream=True,
        stream_options={"include_usage": True},
    ))  # fmt: skip
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "You said: stream me"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert (chunks[-1].usage.model_extra or {}).get("cost") == "0"
    assert [m.id for m in client.models.list()] == ["chat", "greet", "greet-worker"]
    assert Run.objects.filter(end_user="u-1").count() == 1


def test_openai_sdk_sees_our_errors(asgi_server: str, token: str, workspace: Workspace) -> None:
    client = openai.OpenAI(base_url=f"http://{asgi_server}/v1", api_key=token, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    bad = openai.OpenAI(
        base_url=f"http://{asgi_server}/v1", api_key="llm-AAAAAAAA-" + "b" * 30, max_retries=0
    )
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="chat", messages=[{"role": "user", "content": "x"}])


def test_langchain_chat_openai_invoke_and_stream(asgi_server: str, token: str) -> None:
    model = ChatOpenAI(base_url=f"http://{asgi_server}/v1", api_key=token, model="chat", max_retries=0)
    assert model.invoke("hello").content == "You said: hello"
    streamed = "".join(str(chunk.content) for chunk in model.stream("again"))
    assert streamed == "You said: again"


@pytest.mark.parametrize("slug", ["greet", "greet-worker"])
def test_streaming_events_arrive_in_order(
    celery_worker_process: Worker, asgi_server: str, token: str, slug: str
) -> None:
    response = httpx.post(
        f"http://{asgi_server}/v1/workflows/{slug}/run", timeout=30, headers={"Authorization": f"Bearer {token}"},
        json={"inputs": {"name": "Ada"}, "response_mode": "streaming"},
    )  # fmt: skip
    assert response.headers["content-type"].startswith("text/event-stream")
    types = sse_types(response.text)
    assert types[0] == "run_started" and types[-1] == "run_finished"
    assert [t for t in types if t.startswith("node_")] == ["node_started", "node_finished"] * 3
    seqs = [int(s) for s in re.findall(r"^id: (\d+)$", response.text, re.M)]
    assert seqs == list(range(1, len(seqs) + 1))
    finished = json.loads(response.text.strip().split("data: ")[-1])
    assert finished["outputs"] == {"answer": "Hello Ada"}


def test_blocking_call_executed_by_a_worker(
    celery_worker_process: Worker, asgi_server: str, token: str
) -> None:
    response = httpx.post(
        f"http://{asgi_server}/v1/workflows/greet-worker/run", timeout=30,
        headers={"Authorization": f"Bearer {token}"}, json={"inputs": {"name": "Bo"}},
    )  # fmt: skip
    assert (response.status_code, response.json()["outputs"]) == (200, {"answer": "Hello Bo"})
    assert Run.objects.get(id=response.json()["id"]).worker != ""


class Receiver(BaseHTTPRequestHandler):
    failures_left = 0
    received: list[tuple[dict[str, str], bytes, int]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = 500 if Receiver.failures_left > 0 else 200
        Receiver.failures_left -= 1
        Receiver.received.append((dict(self.headers), body, status))
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.failures_left, Receiver.received = 2, []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def test_async_run_posts_a_signed_webhook_retried_until_accepted(
    celery_worker_process: Worker, asgi_server: str, token: str, receiver: str, workspace: Workspace
) -> None:
    response = httpx.post(
        f"http://{asgi_server}/v1/workflows/greet/run", timeout=30, headers={"Authorization": f"Bearer {token}"},
        json={"inputs": {"name": "Cy"}, "response_mode": "async", "webhook_url": receiver, "user": "u-9"},
    )  # fmt: skip
    assert response.status_code == 202, response.text
    run_id = response.json()["id"]
    deadline = time.monotonic() + 40
    while not any(status == 200 for _, _, status in Receiver.received) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [status for _, _, status in Receiver.received] == [500, 500, 200]
    headers, body, _ = Receiver.received[-1]
    secret = workspace_deployment_secret(workspace, "greet")
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-LLMOps-Signature"], expected)
    payload = json.loads(body)
    assert (payload["id"], payload["status"], payload["outputs"], payload["end_user"]) == (
        run_id, "succeeded", {"answer": "Hello Cy"}, "u-9",
    )  # fmt: skip
    assert payload["timestamp"] == int(headers["X-LLMOps-Timestamp"])
    polled = httpx.get(f"http://{asgi_server}/v1/runs/{run_id}", headers={"Authorization": f"Bearer {token}"})
    assert polled.json()["status"] == "succeeded"


def workspace_deployment_secret(workspace: Workspace, slug: str) -> str:
    from llmops.deployments.models import Deployment

    secret: str = Deployment.objects.get(workspace=workspace, slug=slug).webhook_secret
    return secret


def test_a_revoked_key_is_refused_by_the_live_server(
    asgi_server: str, token: str, workspace: Workspace
) -> None:
    created = services.api_key_create(workspace=workspace, user=None, name="temp")
    url, headers = f"http://{asgi_server}/v1/models", {"Authorization": f"Bearer {created.token}"}
    assert httpx.get(url, headers=headers).status_code == 200
    services.api_key_revoke(key=created.key)
    refused = httpx.get(url, headers=headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "unauthenticated")
