"""Chain deployments through the public API: ``Idempotency-Key``, the concurrency limit, token streaming.

The model is always a real HTTP peer: the scripted OpenAI-protocol server (deterministic chunks, records what
it was asked) or, where said, the local llama.cpp server. Tests read what a client reads: status codes,
bodies, SSE frames, plus the usage ledger (one row per model call).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, cast

import httpx
import openai
import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from devservices.localmodels import CHAT_MODEL
from llmops.accounts.models import Workspace
from llmops.chains.content import chain_content_normalize
from llmops.chains.models import Chain
from llmops.core import versioning
from llmops.deployments import limits
from llmops.deployments.limits import chain_slot_take
from llmops.deployments.models import ApiKey, Deployment, IdempotencyRecord
from llmops.usage.models import UsageRecord
from tests.deployments.factories import DeploymentFactory, api_key
from tests.prompts.factories import chat_content, published_prompt
from tests.providers.factories import ModelEndpointFactory, endpoint_config
from tests.support.openai_test_server import OpenAITestServer, malformed_stream, ok, ok_stream, status

pytestmark = pytest.mark.django_db
RUN = "/v1/workflows/ask/run"
CHAT = "/v1/chat/completions"
ANSWER = ("Owls ", "hoot ", "at ", "night.")


def chain_deployment(
    workspace: Workspace, base_url: str, *, endpoint: Any = None, **chain: Any
) -> Deployment:
    """Deployment ``ask`` of chain ``ask``: prompt ``ask`` (variable ``query``) on model endpoint ``local``
    (an OpenAI-compatible server at ``base_url``, or the ``endpoint`` draft given)."""
    draft = endpoint or endpoint_config(base_url=base_url, model="scripted")
    ModelEndpointFactory.create(
        workspace=workspace, slug="local", credentials={"api_key": "sk-t"}, draft=draft
    )
    messages = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "{{ query }}"}]
    variables = [{"name": "query", "type": "string", "required": True}]
    published_prompt(workspace=workspace, slug="ask",
                     draft=chat_content(model="local", messages=messages, variables=variables))  # fmt: skip
    content = chain_content_normalize(
        {"prompt": {"slug": "ask", "version": "latest"}, **chain}, workspace=workspace
    )
    target = Chain.objects.create(workspace=workspace, name="Ask", slug="ask", draft=content)
    versioning.version_publish(resource=target, user=None, message="v1")
    return DeploymentFactory.create(workspace=workspace, slug="ask", chain=target, workflow=None)


def one_lease_passes(deployment: Deployment) -> None:
    """What waiting one lease does, without waiting: the deployment's chain-call leases have run out (a lease
    is its member's score in Redis, when it ends) and its ``Idempotency-Key`` records are over a lease old."""
    over_a_lease = timedelta(seconds=settings.LLMOPS_API_CHAIN_LEASE_SECONDS + 1)
    IdempotencyRecord.objects.filter(deployment=deployment).update(created_at=timezone.now() - over_a_lease)
    redis, slots = limits._client(settings.REDIS_URL), limits._chain_slots(deployment)
    # cast: redis-py types each command's answer as sync-or-async; this client is the sync one.
    if members := cast(list[bytes], redis.zrange(slots, 0, -1)):
        redis.zadd(slots, dict.fromkeys(members, 0), xx=True)


@pytest.fixture
def server(openai_test_server: OpenAITestServer) -> OpenAITestServer:
    return openai_test_server


@pytest.fixture
def deployment(workspace: Workspace, server: OpenAITestServer) -> Deployment:
    return chain_deployment(workspace, server.url)


@pytest.fixture
def client(workspace: Workspace, deployment: Deployment) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key(workspace)}")
    return client


def run_body(query: str = "Why do owls hoot?", mode: str = "blocking") -> dict[str, Any]:
    return {"inputs": {"query": query}, "response_mode": mode, "user": "end-user-7"}


def chat_body(query: str = "Why do owls hoot?", stream: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "ask",
        "messages": [{"role": "user", "content": query}],
        "user": "end-user-7",
    }
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    return body


def streamed(response: Any) -> str:
    async def read() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(read)().decode()


def sse_events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]


def chat_deltas(text: str) -> list[str]:
    return [c["choices"][0]["delta"]["content"] for c in sse_events(text) if c.get("choices")
            and c["choices"][0]["delta"].get("content")]  # fmt: skip


# --- blocking calls and metering ----------------------------------------------------------------------------
def test_a_blocking_call_answers_with_its_id_and_meters_to_deployment_key_and_user(
    client: APIClient, server: OpenAITestServer, deployment: Deployment
) -> None:
    server.script(ok("Owls hoot to talk.", usage=(9, 5)))
    response = client.post(RUN, run_body(), format="json")
    body = response.json()
    assert response.status_code == 200, body
    assert (body["object"], body["text"], body["output"], body["blocked"]) == (
        "chain_result", "Owls hoot to talk.", "Owls hoot to talk.", False,
    )  # fmt: skip
    assert body["id"].startswith("chain-") and body["usage"]["total_tokens"] == 14
    row = UsageRecord.objects.get()
    assert (row.run_id, row.deployment_id, row.api_key_id, row.end_user, row.source, row.operation) == (
        body["id"], str(deployment.pk), str(ApiKey.objects.get().pk), "end-user-7", "api", "chat",
    )  # fmt: skip


# --- Idempotency-Key ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("url", "body"), [(RUN, run_body()), (CHAT, chat_body())])
def test_the_same_idempotency_key_and_body_replay_the_result_without_a_model_call(
    client: APIClient, server: OpenAITestServer, url: str, body: dict[str, Any]
) -> None:
    server.script(ok("First answer."), ok("Second answer."))
    first = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    again = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert "First answer." in json.dumps(again.json())
    assert (len(server.requests), UsageRecord.objects.count()) == (1, 1)


@pytest.mark.parametrize(("url", "body", "other"), [
    (RUN, run_body(), run_body("Why do cats purr?")),
    (CHAT, chat_body(), chat_body("Why do cats purr?")),
    (CHAT, chat_body(), chat_body(stream=True)),
])  # fmt: skip
def test_an_idempotency_key_reused_with_another_body_is_422_and_calls_no_model(
    client: APIClient, server: OpenAITestServer, url: str, body: dict[str, Any], other: dict[str, Any]
) -> None:
    assert client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="order-2").status_code == 200
    response = client.post(url, other, format="json", HTTP_IDEMPOTENCY_KEY="order-2")
    error = response.json()["error"]
    assert (response.status_code, error["code"], list(error["fields"])) == (
        422,
        "unprocessable",
        ["Idempotency-Key"],
    )
    assert UsageRecord.objects.count() == 1


def test_a_failed_call_forgets_its_key_so_a_retry_runs(client: APIClient, server: OpenAITestServer) -> None:
    server.script(status(400, message="bad request upstream"), ok("Now it works."), ok("Never sent."))
    failed = client.post(RUN, run_body(), format="json", HTTP_IDEMPOTENCY_KEY="retry-me")
    retried = client.post(RUN, run_body(), format="json", HTTP_IDEMPOTENCY_KEY="retry-me")
    replayed = client.post(RUN, run_body(), format="json", HTTP_IDEMPOTENCY_KEY="retry-me")
    assert failed.status_code >= 400 and "error" in failed.json()
    assert (retried.status_code, retried.json()["text"]) == (200, "Now it works.")
    assert replayed.json() == retried.json()
    assert len(server.requests) == 2


def test_a_duplicate_sent_while_the_first_call_runs_is_409_then_gets_its_result(
    client: APIClient, server: OpenAITestServer
) -> None:
    # given a streaming call admitted and not read yet (it holds its key, its answer still to come)
    server.script(ok_stream(ANSWER))
    first = client.post(CHAT, chat_body(stream=True), format="json", HTTP_IDEMPOTENCY_KEY="dup")
    # when the same request comes again meanwhile
    duplicate = client.post(CHAT, chat_body(stream=True), format="json", HTTP_IDEMPOTENCY_KEY="dup")
    # then it is told to come back, and after the first call finished it gets the same answer
    error = duplicate.json()["error"]
    assert (duplicate.status_code, error["code"]) == (409, "conflict")
    assert "still being processed" in error["message"]
    original = streamed(first)
    later = streamed(client.post(CHAT, chat_body(stream=True), format="json", HTTP_IDEMPOTENCY_KEY="dup"))
    assert "".join(chat_deltas(later)) == "".join(chat_deltas(original)) == "".join(ANSWER)
    assert {c["id"] for c in sse_events(later)} == {c["id"] for c in sse_events(original)}
    assert sse_events(later)[-1]["usage"] == sse_events(original)[-1]["usage"]
    assert later.endswith("data: [DONE]\n\n") and len(server.requests) == 1


def test_a_key_whose_caller_died_is_taken_over_after_one_lease(
    client: APIClient, server: OpenAITestServer, deployment: Deployment
) -> None:
    server.script(ok_stream(ANSWER), ok("Taken over."))
    # a call admitted whose process then died: its stream is never run, its lease is never renewed
    client.post(RUN, run_body(mode="streaming"), format="json", HTTP_IDEMPOTENCY_KEY="orphan")
    assert client.post(RUN, run_body(mode="streaming"), format="json",
                       HTTP_IDEMPOTENCY_KEY="orphan").status_code == 409  # fmt: skip
    one_lease_passes(deployment)
    events = sse_events(
        streamed(client.post(RUN, run_body(mode="streaming"), format="json", HTTP_IDEMPOTENCY_KEY="orphan"))
    )
    assert events[-1]["type"] == "run_finished" and events[-1]["outputs"]["text"] == "".join(ANSWER)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"response_mode": "async"}, "response_mode"),
        ({"webhook_url": "http://127.0.0.1:9/hook"}, "webhook_url"),
    ],
)
def test_chain_deployments_refuse_async_mode_and_webhooks(
    client: APIClient, server: OpenAITestServer, extra: dict[str, Any], field: str
) -> None:
    response = client.post(RUN, {**run_body(), **extra}, format="json")
    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, [field])
    assert not server.requests


# --- the concurrency limit ------------------------------------------------------------------------------------
def test_the_concurrency_limit_refuses_with_429_and_frees_the_slot_when_the_call_ends(
    client: APIClient, server: OpenAITestServer, deployment: Deployment
) -> None:
    deployment.max_concurrent_runs = 1
    deployment.save()
    server.script(ok_stream(ANSWER), ok("Second."))
    holding = client.post(CHAT, chat_body(stream=True), format="json")  # admitted, answer not read yet
    refused = client.post(RUN, run_body(), format="json")
    assert (refused.status_code, refused["Retry-After"], refused.json()["error"]["code"]) == (
        429, "1", "rate_limited",
    )  # fmt: skip
    assert "1 calls at a time" in refused.json()["error"]["message"]
    streamed(holding)
    assert client.post(RUN, run_body(), format="json").status_code == 200


@pytest.mark.parametrize("failure", [status(400), malformed_stream("truncated")])
def test_a_failed_call_frees_its_slot(
    client: APIClient, server: OpenAITestServer, deployment: Deployment, failure: Any
) -> None:
    deployment.max_concurrent_runs = 1
    deployment.save()
    server.script(failure, ok("Fine again."))
    text = streamed(client.post(CHAT, chat_body(stream=True), format="json"))
    assert '"error"' in text and text.endswith("data: [DONE]\n\n")
    after = client.post(RUN, run_body(), format="json")
    assert (after.status_code, after.json()["text"]) == (200, "Fine again.")


def test_a_slot_of_a_dead_process_frees_itself_after_one_lease(
    client: APIClient, server: OpenAITestServer, deployment: Deployment
) -> None:
    deployment.max_concurrent_runs = 1
    deployment.save()
    chain_slot_take(deployment=deployment, member="call-of-a-killed-worker")  # taken, never renewed or freed
    assert client.post(RUN, run_body(), format="json").status_code == 429
    one_lease_passes(deployment)
    assert client.post(RUN, run_body(), format="json").status_code == 200


def test_bad_inputs_are_a_400_and_hold_no_slot(client: APIClient, deployment: Deployment) -> None:
    deployment.max_concurrent_runs = 1
    deployment.save()
    response = client.post(RUN, {"inputs": {}, "response_mode": "streaming"}, format="json")
    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["inputs.query"])
    assert client.post(RUN, {"inputs": {}}, format="json").status_code == 400


# --- streaming ------------------------------------------------------------------------------------------------
def test_chat_streaming_sends_each_model_delta_then_finish_usage_and_done(
    client: APIClient, server: OpenAITestServer, deployment: Deployment
) -> None:
    server.script(ok_stream(ANSWER, usage=(11, 4)))
    response = client.post(CHAT, chat_body(stream=True), format="json")
    assert response["Content-Type"] == "text/event-stream"
    text = streamed(response)
    chunks = sse_events(text)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chat_deltas(text) == list(ANSWER)
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 15
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"} and len({c["id"] for c in chunks}) == 1
    assert text.endswith("data: [DONE]\n\n")
    row = UsageRecord.objects.get()
    assert (row.operation, row.deployment_id, row.end_user, row.completion_tokens) == (
        "stream", str(deployment.pk), "end-user-7", 4,
    )  # fmt: skip


def test_run_streaming_sends_text_chunks_and_a_final_event_with_outputs_and_usage(
    client: APIClient, server: OpenAITestServer
) -> None:
    server.script(ok_stream(ANSWER, usage=(11, 4)))
    text = streamed(client.post(RUN, run_body(mode="streaming"), format="json"))
    events = sse_events(text)
    assert [e["type"] for e in events] == ["run_started"] + ["text_chunk"] * 4 + ["run_finished"]
    assert [e["seq"] for e in events] == list(range(1, 7))
    assert [e["text"] for e in events if e["type"] == "text_chunk"] == list(ANSWER)
    finished = events[-1]
    assert (finished["status"], finished["outputs"]["text"], finished["usage"]["total_tokens"]) == (
        "succeeded", "".join(ANSWER), 15,
    )  # fmt: skip
    assert finished["outputs"]["id"] == finished["run_id"] == UsageRecord.objects.get().run_id


def test_a_json_chain_streams_only_its_parsed_result(workspace: Workspace, server: OpenAITestServer) -> None:
    chain_deployment(workspace, server.url, output_parser={"type": "json"})
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key(workspace)}")
    server.script(ok_stream(['{"title": ', '"Owls"}']))
    events = sse_events(streamed(client.post(RUN, run_body(mode="streaming"), format="json")))
    assert [e["type"] for e in events] == ["run_started", "text_chunk", "run_finished"]
    assert events[-1]["outputs"]["output"] == {"title": "Owls"}


def test_a_model_failure_mid_stream_ends_the_stream_with_an_error(
    client: APIClient, server: OpenAITestServer
) -> None:
    server.script(malformed_stream("truncated", text_before="Owls "))
    events = sse_events(streamed(client.post(RUN, run_body(mode="streaming"), format="json")))
    assert [e["type"] for e in events] == ["run_started", "text_chunk", "error", "run_finished"]
    assert events[-1]["status"] == "failed" and events[-1]["error"]["message"]


@pytest.mark.integration
def test_streaming_from_the_local_model_arrives_in_several_deltas(
    workspace: Workspace, local_chat_model_url: str
) -> None:
    gemma = endpoint_config(provider_kind="llamacpp", model=CHAT_MODEL, base_url=local_chat_model_url)
    deployment = chain_deployment(workspace, local_chat_model_url, endpoint=gemma)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key(workspace)}")
    text = streamed(client.post(CHAT, chat_body("Name three colours.", stream=True), format="json"))
    deltas = chat_deltas(text)
    assert len(deltas) > 1 and "".join(deltas).strip()
    assert sse_events(text)[-1]["usage"]["completion_tokens"] > 1
    row = UsageRecord.objects.get()
    assert (row.deployment_id, row.operation, row.error_type) == (str(deployment.pk), "stream", "")


# --- against a live server --------------------------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_openai_sdk_streams_a_chain_deployment_token_by_token(
    asgi_server: str, workspace: Workspace, server: OpenAITestServer
) -> None:
    deployment = chain_deployment(workspace, server.url)
    deployment.max_concurrent_runs = 1
    deployment.save()
    token = api_key(workspace)
    server.script(ok_stream(ANSWER, chunk_delay=0.4, usage=(11, 4)), ok("After."))
    client = openai.OpenAI(base_url=f"http://{asgi_server}/v1", api_key=token, max_retries=0)
    stream = client.chat.completions.create(
        model="ask", messages=[{"role": "user", "content": "Why?"}], stream=True,
        stream_options={"include_usage": True}, extra_headers={"Idempotency-Key": "live-1"},
    )  # fmt: skip
    arrivals: list[str] = []
    usage = None
    refused = duplicate = None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(chunk.choices[0].delta.content)
            if refused is None:  # mid-stream: the one slot is taken, the same key is in flight
                refused = _post_run(asgi_server, token)
                duplicate = _post_chat(asgi_server, token, "live-1")
        if chunk.usage is not None:
            usage = chunk.usage
    assert arrivals == list(ANSWER)
    assert usage is not None and usage.total_tokens == 15
    # The first delta reached the client while the call still held its slot and its key (429 and 409, where a
    # response held back until the call ended would find both free): it was streamed as the model produced it.
    assert refused is not None and (refused.status_code, refused.headers["Retry-After"]) == (429, "1")
    assert duplicate is not None and duplicate.status_code == 409
    assert _post_run(asgi_server, token).status_code == 200, "the slot is free once the stream ended"
    assert len(server.requests) == 2


def _post_run(asgi_server: str, token: str) -> httpx.Response:
    return httpx.post(f"http://{asgi_server}{RUN}", json=run_body(), timeout=30,
                      headers={"Authorization": f"Bearer {token}"})  # fmt: skip


def _post_chat(asgi_server: str, token: str, key: str) -> httpx.Response:
    body = {**chat_body("Why?", stream=True)}
    body.pop("user")
    return httpx.post(f"http://{asgi_server}{CHAT}", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key})  # fmt: skip
