"""The public API in process: keys, limits, validation, idempotency, runs, models, chat completions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from llmops.accounts.models import Workspace
from llmops.core import versioning
from llmops.deployments import services
from llmops.deployments.models import ApiKey, Deployment, DeploymentStatus
from llmops.runs.models import Run, RunStatus
from tests.accounts.factories import WorkspaceFactory
from tests.deployments.factories import DeploymentFactory, api_key, chat_dsl, deployment_of
from tests.studio.factories import greeting_dsl, published_workflow

pytestmark = pytest.mark.django_db


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def run_url(slug: str = "greet") -> str:
    return f"/v1/workflows/{slug}/run"


@pytest.fixture
def deployment(workspace: Workspace) -> Deployment:
    return DeploymentFactory.create(workspace=workspace, slug="greet")


@pytest.fixture
def client(workspace: Workspace, deployment: Deployment) -> APIClient:
    return bearer(api_key(workspace))


def test_blocking_call_runs_the_workflow_and_attributes_the_run(
    client: APIClient, deployment: Deployment
) -> None:
    response = client.post(run_url(), {"inputs": {"name": "Ada"}, "user": "end-user-7"}, format="json")
    body = response.json()
    assert response.status_code == 200, body
    assert (body["status"], body["outputs"], body["version"]) == ("succeeded", {"answer": "Hello Ada"}, 1)
    run = Run.objects.get(id=body["id"])
    key = ApiKey.objects.get()
    assert (run.deployment_id, run.api_key_id, run.end_user, run.trigger) == (
        deployment.pk,
        key.pk,
        "end-user-7",
        "api",
    )
    assert run.node_runs.count() == 3
    types = list(run.events.order_by("seq").values_list("type", flat=True))
    assert (types[0], types[-1], types.count("node_finished")) == ("run_started", "run_finished", 3)


def test_a_label_is_resolved_at_call_time_and_recorded_on_each_run(workspace: Workspace) -> None:
    workflow = published_workflow(workspace=workspace)
    workflow.draft = greeting_dsl("Hi {{ start.name }}")
    workflow.save()
    versioning.version_publish(resource=workflow, user=None)
    versioning.label_set(resource=workflow, name="production", number=1, user=None)
    deployment_of(workflow, slug="label", version="production")
    client = bearer(api_key(workspace))
    first = client.post(run_url("label"), {"inputs": {"name": "A"}}, format="json").json()
    versioning.label_set(resource=workflow, name="production", number=2, user=None)
    second = client.post(run_url("label"), {"inputs": {"name": "A"}}, format="json").json()
    assert (first["version"], first["outputs"]["answer"]) == (1, "Hello A")
    assert (second["version"], second["outputs"]["answer"]) == (2, "Hi A")
    assert list(Run.objects.order_by("created_at").values_list("workflow_version__number", flat=True)) == [
        1,
        2,
    ]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"inputs": {"name": 3}}, 400, "inputs.name"),
        ({"inputs": {}}, 400, "inputs.name"),
        ({"inputs": {"name": "A", "age": 3}}, 400, "inputs.age"),
        ({"inputs": {"name": "A"}, "colour": "red"}, 400, "colour"),
        ({"inputs": "Ada"}, 400, "inputs"),
        ({"inputs": {"name": "A"}, "response_mode": "eventually"}, 400, "response_mode"),
        ({"inputs": {"name": "A"}, "user": "u" * 201}, 400, "user"),
        ({"inputs": {"name": "x" * 1_100_000}}, 413, None),
    ],
)
def test_bad_input_gets_a_clear_error_and_creates_no_run(
    client: APIClient, body: dict[str, Any], status: int, field: str | None
) -> None:
    response = client.post(run_url(), body, format="json")
    error = response.json()["error"]
    assert response.status_code == status, error
    assert error["message"]
    if field:
        assert field in error["fields"], error
    assert not Run.objects.exists()


def test_a_body_that_is_not_a_json_object_is_refused(client: APIClient) -> None:
    response = client.post(run_url(), "[1, 2]", content_type="application/json")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid")
    broken = client.post(run_url(), "{not json", content_type="application/json")
    assert (broken.status_code, broken.json()["error"]["code"]) == (400, "invalid")


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Token abc", "Bearer llm-nope", "Bearer llm-AAAAAAAA-bbbbbbbbbbbbbbbbbbbbbbbbbbbb"],
)
def test_missing_or_invalid_keys_are_unauthenticated(deployment: Deployment, authorization: str) -> None:
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    response = client.post(run_url(), {"inputs": {"name": "A"}}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "unauthenticated")


def test_a_revoked_key_is_refused_at_once(workspace: Workspace, deployment: Deployment) -> None:
    created = services.api_key_create(workspace=workspace, user=None, name="k")
    client = bearer(created.token)
    assert client.post(run_url(), {"inputs": {"name": "A"}}, format="json").status_code == 200
    services.api_key_revoke(key=created.key)
    response = client.post(run_url(), {"inputs": {"name": "A"}}, format="json")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]
    assert Run.objects.count() == 1


def test_an_expired_key_is_refused(workspace: Workspace, deployment: Deployment) -> None:
    client = bearer(api_key(workspace, expires_at=timezone.now() - timedelta(seconds=1)))
    response = client.post(run_url(), {"inputs": {"name": "A"}}, format="json")
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_a_key_without_the_scope_or_for_another_deployment_is_forbidden(
    workspace: Workspace, deployment: Deployment
) -> None:
    other = DeploymentFactory.create(workspace=workspace, slug="other")
    read_only = bearer(api_key(workspace, scopes=["read"]))
    limited = bearer(api_key(workspace, deployments=[other]))
    assert read_only.post(run_url(), {"inputs": {"name": "A"}}, format="json").status_code == 403
    assert limited.post(run_url(), {"inputs": {"name": "A"}}, format="json").status_code == 403
    assert limited.post(run_url("other"), {"inputs": {"name": "A"}}, format="json").status_code == 200


def test_unknown_slug_is_404_and_another_workspaces_deployment_is_invisible(
    client: APIClient, outsider: Any
) -> None:
    DeploymentFactory.create(workspace=Workspace.objects.get(slug="other"), slug="theirs")
    assert client.post(run_url("nope"), {"inputs": {}}, format="json").status_code == 404
    assert client.post(run_url("theirs"), {"inputs": {}}, format="json").status_code == 404


def test_a_paused_deployment_answers_409_until_resumed(client: APIClient, deployment: Deployment) -> None:
    services.deployment_set_status(deployment=deployment, status=DeploymentStatus.PAUSED)
    paused = client.post(run_url(), {"inputs": {"name": "A"}}, format="json")
    assert (paused.status_code, paused.json()["error"]["code"]) == (409, "conflict")
    services.deployment_set_status(deployment=deployment, status=DeploymentStatus.ACTIVE)
    assert client.post(run_url(), {"inputs": {"name": "A"}}, format="json").status_code == 200


def test_the_same_idempotency_key_and_body_return_the_same_run(client: APIClient) -> None:
    body = {"inputs": {"name": "Ada"}}
    first = client.post(run_url(), body, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    again = client.post(run_url(), body, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert Run.objects.count() == 1


def test_a_replayed_idempotency_key_with_another_body_is_422_and_runs_nothing(client: APIClient) -> None:
    client.post(run_url(), {"inputs": {"name": "Ada"}}, format="json", HTTP_IDEMPOTENCY_KEY="order-2")
    response = client.post(
        run_url(), {"inputs": {"name": "Bob"}}, format="json", HTTP_IDEMPOTENCY_KEY="order-2"
    )
    assert (response.status_code, response.json()["error"]["code"]) == (422, "unprocessable")
    assert Run.objects.count() == 1


def test_an_idempotency_key_older_than_the_window_starts_a_new_run(client: APIClient) -> None:
    from llmops.deployments.models import IdempotencyRecord

    body = {"inputs": {"name": "Ada"}}
    first = client.post(run_url(), body, format="json", HTTP_IDEMPOTENCY_KEY="old").json()
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    second = client.post(run_url(), body, format="json", HTTP_IDEMPOTENCY_KEY="old").json()
    assert first["id"] != second["id"]


def test_the_key_bucket_refuses_with_429_and_retry_after(
    workspace: Workspace, deployment: Deployment
) -> None:
    client = bearer(api_key(workspace, requests_per_minute=2))
    codes = [client.post(run_url(), {"inputs": {"name": "A"}}, format="json") for _ in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert codes[2].json()["error"]["code"] == "rate_limited"
    assert 1 <= int(codes[2]["Retry-After"]) <= 30
    assert Run.objects.count() == 2


def test_the_deployment_concurrency_limit_refuses_with_429(client: APIClient, deployment: Deployment) -> None:
    deployment.max_concurrent_runs = 1
    deployment.save()
    workflow = deployment.workflow
    assert workflow is not None
    version = workflow.versions.get()
    Run.objects.create(workspace=deployment.workspace, workflow=workflow, workflow_version=version,
                       status=RunStatus.RUNNING, deployment_id=deployment.pk)  # fmt: skip
    response = client.post(run_url(), {"inputs": {"name": "A"}}, format="json")
    assert (response.status_code, response["Retry-After"]) == (429, "1")
    Run.objects.update(status=RunStatus.SUCCEEDED)
    assert client.post(run_url(), {"inputs": {"name": "A"}}, format="json").status_code == 200


def test_last_used_is_written_at_most_once_a_minute(workspace: Workspace) -> None:
    created = services.api_key_create(workspace=workspace, user=None, name="k")
    services.api_key_authenticate(token=created.token)
    first = ApiKey.objects.get().last_used_at
    services.api_key_authenticate(token=created.token)
    assert ApiKey.objects.get().last_used_at == first
    ApiKey.objects.update(last_used_at=timezone.now() - timedelta(minutes=2))
    services.api_key_authenticate(token=created.token)
    assert ApiKey.objects.get().last_used_at > first  # type: ignore[operator]


def test_keys_are_stored_as_prefix_and_digest_only(workspace: Workspace) -> None:
    created = services.api_key_create(workspace=workspace, user=None, name="k")
    key = ApiKey.objects.get()
    assert created.token.startswith(f"llm-{key.prefix}-")
    assert created.token not in str(list(ApiKey.objects.values()))


def test_runs_can_be_read_and_cancelled_through_the_key(client: APIClient, workspace: Workspace) -> None:
    run_id = client.post(run_url(), {"inputs": {"name": "A"}}, format="json").json()["id"]
    detail = client.get(f"/v1/runs/{run_id}")
    assert (detail.status_code, detail.json()["status"]) == (200, "succeeded")
    finished = client.post(f"/v1/runs/{run_id}/cancel")
    assert finished.status_code == 409
    stranger = bearer(api_key(WorkspaceFactory.create(slug="elsewhere")))
    assert stranger.get(f"/v1/runs/{run_id}").status_code == 404


def test_async_mode_answers_202_with_a_queued_run(client: APIClient) -> None:
    response = client.post(run_url(), {"inputs": {"name": "A"}, "response_mode": "async"}, format="json")
    assert (response.status_code, response.json()["status"]) == (202, "queued")
    cancelled = client.post(f"/v1/runs/{response.json()['id']}/cancel")
    assert cancelled.json()["status"] == "cancelled"


def test_a_webhook_to_a_private_address_is_refused(client: APIClient, settings: Any) -> None:
    settings.LLMOPS_WEBHOOK_ALLOWLIST = []
    body = {
        "inputs": {"name": "A"},
        "response_mode": "async",
        "webhook_url": "http://169.254.169.254/latest/",
    }
    response = client.post(run_url(), body, format="json")
    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["webhook_url"])
    assert not Run.objects.exists()


def test_models_lists_the_deployments_the_key_may_call(workspace: Workspace, deployment: Deployment) -> None:
    other = DeploymentFactory.create(workspace=workspace, slug="other")
    everything = bearer(api_key(workspace)).get("/v1/models").json()
    limited = bearer(api_key(workspace, deployments=[other])).get("/v1/models").json()
    assert [m["id"] for m in everything["data"]] == ["greet", "other"]
    assert [m["id"] for m in limited["data"]] == ["other"]


def test_chat_completion_maps_the_last_message_to_the_text_input(client: APIClient) -> None:
    body = {"model": "greet", "messages": [{"role": "user", "content": "Ada"}], "temperature": 0.2}
    response = client.post("/v1/chat/completions", body, format="json").json()
    assert response["object"] == "chat.completion"
    assert response["choices"][0]["message"] == {"role": "assistant", "content": "Hello Ada"}
    assert response["usage"]["total_tokens"] == 0 and response["usage"]["cost"] == "0"


def test_chat_completion_gives_a_chat_workflow_its_query(workspace: Workspace) -> None:
    deployment_of(published_workflow(workspace=workspace, draft=chat_dsl()), slug="chat")
    messages = [{"role": "system", "content": "Be kind"}, {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"}, {"role": "user", "content": [{"type": "text", "text": "bye"}]}]  # fmt: skip
    response = bearer(api_key(workspace)).post("/v1/chat/completions", {"model": "chat", "messages": messages},
                                              format="json")  # fmt: skip
    assert response.json()["choices"][0]["message"]["content"] == "You said: bye"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "greet", "messages": []}, "messages"),
        ({"model": "greet", "messages": [{"role": "assistant", "content": "x"}]}, "messages"),
        ({"model": "greet", "messages": [{"role": "user", "content": "x"}], "tools": []}, "tools"),
        ({"model": "greet", "messages": [{"role": "user", "content": "x"}], "n": 2}, "n"),
    ],
)
def test_bad_chat_requests_are_400_naming_the_field(
    client: APIClient, body: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/chat/completions", body, format="json")
    assert response.status_code == 400
    assert any(name.startswith(field) for name in response.json()["error"]["fields"])
    assert not Run.objects.exists()


def test_a_chat_completion_with_an_idempotency_key_replays_the_same_run(client: APIClient) -> None:
    body = {"model": "greet", "messages": [{"role": "user", "content": "Ada"}]}
    first = client.post("/v1/chat/completions", body, format="json", HTTP_IDEMPOTENCY_KEY="chat-1")
    again = client.post("/v1/chat/completions", body, format="json", HTTP_IDEMPOTENCY_KEY="chat-1")
    assert first.json()["choices"][0]["message"]["content"] == "Hello Ada"
    assert again.json()["choices"][0]["message"] == first.json()["choices"][0]["message"]
    assert Run.objects.count() == 1
    other = client.post("/v1/chat/completions", {**body, "messages": [{"role": "user", "content": "Bob"}]},
                        format="json", HTTP_IDEMPOTENCY_KEY="chat-1")  # fmt: skip
    assert (other.status_code, Run.objects.count()) == (422, 1)


def test_the_key_and_deployment_lookups_are_one_query_each_with_their_relations(
    workspace: Workspace, deployment: Deployment, django_assert_num_queries: Any
) -> None:
    from llmops.deployments import selectors

    token = api_key(workspace)
    key = services.api_key_authenticate(token=token)  # writes last_used_at once
    with django_assert_num_queries(1):
        key = services.api_key_authenticate(token=token)
        assert key.workspace.slug == workspace.slug and key.scopes
    with django_assert_num_queries(1):
        found = selectors.deployment_for_key(key=key, slug="greet")
        assert found.workflow is not None and found.workflow.slug == deployment.workflow.slug  # type: ignore[union-attr]
        assert found.workspace.pk == workspace.pk
    assert found.webhook_secret == deployment.webhook_secret  # loaded (and decrypted) only when asked for
