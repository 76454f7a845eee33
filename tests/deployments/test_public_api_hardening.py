"""The public API against misuse: other keys' runs, internal error texts, odd cursors, idempotency keys
across deployments, and API keys that survive a secret-key rotation."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from rest_framework.test import APIClient

from llmops.accounts.models import User, Workspace
from llmops.deployments.models import ApiKey, Deployment
from llmops.runs.models import Run, RunEvent, RunStatus
from tests.conftest import client_for
from tests.deployments.factories import DeploymentFactory, api_key, deployment_of
from tests.studio.factories import published_workflow

pytestmark = pytest.mark.django_db


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def deployment(workspace: Workspace) -> Deployment:
    return DeploymentFactory.create(workspace=workspace, slug="greet")


def _async_run(client: APIClient, slug: str = "greet") -> str:
    response = client.post(f"/v1/workflows/{slug}/run", {"inputs": {"name": "Ada"}, "response_mode": "async"},
                           format="json")  # fmt: skip
    assert response.status_code == 202, response.content
    return str(response.json()["id"])


# --- a key limited to a deployment and the runs of other keys ----------------------------------------------
def test_a_key_limited_to_a_deployment_cannot_read_or_cancel_runs_other_keys_started_there(
    workspace: Workspace, deployment: Deployment
) -> None:
    # given two clients' keys, both limited to the same deployment
    alice = bearer(api_key(workspace, name="alice", deployments=[deployment]))
    mallory = bearer(api_key(workspace, name="mallory", deployments=[deployment]))
    run_id = _async_run(alice)
    # when one asks for the other's run, its events, or cancels it
    read = mallory.get(f"/v1/runs/{run_id}")
    events = mallory.get(f"/v1/runs/{run_id}/events")
    cancel = mallory.post(f"/v1/runs/{run_id}/cancel")
    # then the run does not exist for it, and nothing changed
    assert (read.status_code, events.status_code, cancel.status_code) == (404, 404, 404)
    assert Run.objects.get(id=run_id).status == RunStatus.QUEUED
    # while its owner reads it as before
    assert alice.get(f"/v1/runs/{run_id}").status_code == 200


def test_a_key_for_all_deployments_still_reads_every_api_run_of_its_workspace(
    workspace: Workspace, deployment: Deployment
) -> None:
    run_id = _async_run(bearer(api_key(workspace, name="client", deployments=[deployment])))
    assert bearer(api_key(workspace, name="ops")).get(f"/v1/runs/{run_id}").status_code == 200


def _read(response: Any) -> str:
    async def read() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(read)().decode()


# --- internal error texts ------------------------------------------------------------------------------------
INTERNAL = 'connection to server at "10.20.30.40", port 5432 failed: password authentication failed'


@pytest.mark.django_db(transaction=True)  # the stream releases its connection between reads
def test_an_internal_error_reaches_api_callers_as_a_stable_code_and_the_console_keeps_the_detail(
    workspace: Workspace, owner: User, deployment: Deployment
) -> None:
    client = bearer(api_key(workspace))
    run_id = _async_run(client)
    # given a run that failed with an infrastructure error
    Run.objects.filter(id=run_id).update(
        status=RunStatus.FAILED, error={"type": "OperationalError", "message": INTERNAL}
    )
    RunEvent.objects.create(run_id=run_id, seq=1, type="run_finished", data={
        "seq": 1, "type": "run_finished", "run_id": run_id, "status": "failed", "outputs": {},
        "error": {"type": "OperationalError", "message": INTERNAL},
    })  # fmt: skip
    # when the API caller reads it, and follows its events
    body = client.get(f"/v1/runs/{run_id}").json()
    stream = _read(client.get(f"/v1/runs/{run_id}/events"))
    # then it sees a stable reason, not the text
    assert body["error"] == {"code": "run_failed", "message": "The run failed."}
    assert "10.20.30.40" not in stream and '"code": "run_failed"' in stream
    # and the console shows the detail
    console = client_for(owner).get(f"/api/workspaces/acme/runs/{run_id}/").json()
    assert console["error"]["message"] == INTERNAL


# --- cursors -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cursor", ["²", "\uff11", "-1", "9" * 40])
def test_a_last_event_id_that_is_not_an_event_number_is_a_clear_400(
    workspace: Workspace, deployment: Deployment, cursor: str
) -> None:
    client = bearer(api_key(workspace))
    run_id = _async_run(client)
    response = client.get(f"/v1/runs/{run_id}/events", HTTP_LAST_EVENT_ID=cursor)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["Last-Event-ID"]


def test_an_api_key_id_that_is_not_a_number_is_a_clear_400(workspace: Workspace, owner: User) -> None:
    response = client_for(owner).get("/api/workspaces/acme/api-keys/²/")
    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["id"])


# --- Idempotency-Key per deployment --------------------------------------------------------------------------
def test_an_idempotency_key_reused_on_another_deployment_starts_another_call(workspace: Workspace) -> None:
    workflow = published_workflow(workspace=workspace)
    deployment_of(workflow, slug="one")
    deployment_of(workflow, slug="two")
    client = bearer(api_key(workspace))
    # given a call with a key and body on one deployment
    first = client.post("/v1/workflows/one/run", {"inputs": {"name": "Ada"}}, format="json",
                        HTTP_IDEMPOTENCY_KEY="order-1")  # fmt: skip
    # when the same key, with another body, goes to another deployment
    other = client.post("/v1/workflows/two/run", {"inputs": {"name": "Bob"}}, format="json",
                        HTTP_IDEMPOTENCY_KEY="order-1")  # fmt: skip
    # then it is a call of its own there, and each deployment still replays its own
    assert (first.status_code, other.status_code) == (200, 200), other.content
    assert other.json()["outputs"] == {"answer": "Hello Bob"}
    replay = client.post("/v1/workflows/one/run", {"inputs": {"name": "Ada"}}, format="json",
                         HTTP_IDEMPOTENCY_KEY="order-1")  # fmt: skip
    assert replay.json()["id"] == first.json()["id"]
    assert Run.objects.count() == 2


# --- API key pepper ------------------------------------------------------------------------------------------
def test_api_keys_survive_a_secret_key_rotation(
    workspace: Workspace, deployment: Deployment, settings: Any
) -> None:
    token = api_key(workspace)
    settings.SECRET_KEY = "a-rotated-secret-key-" + "x" * 40
    assert bearer(token).get("/v1/models").status_code == 200


def test_a_key_issued_under_the_secret_key_pepper_keeps_working_and_moves_to_the_new_pepper(
    workspace: Workspace, deployment: Deployment, settings: Any
) -> None:
    # given a key issued before a pepper of its own was configured
    settings.LLMOPS_API_KEY_PEPPER = ""
    token = api_key(workspace)
    legacy = ApiKey.objects.get().digest
    # when the pepper is set and the key is used
    settings.LLMOPS_API_KEY_PEPPER = "a-dedicated-pepper-" + "p" * 40
    assert bearer(token).get("/v1/models").status_code == 200
    # then its digest moved to the pepper: a later secret-key rotation no longer affects it
    assert ApiKey.objects.get().digest != legacy
    settings.SECRET_KEY = "a-rotated-secret-key-" + "x" * 40
    assert bearer(token).get("/v1/models").status_code == 200
    assert bearer(token[:-1] + ("A" if token[-1] != "A" else "B")).get("/v1/models").status_code == 401


def test_production_without_a_pepper_is_warned_about(settings: Any) -> None:
    from llmops.deployments.checks import api_key_pepper_check

    settings.PRODUCTION, settings.LLMOPS_API_KEY_PEPPER = True, ""
    assert [m.id for m in api_key_pepper_check()] == ["llmops.deployments.W001"]
    settings.LLMOPS_API_KEY_PEPPER = "set"
    assert api_key_pepper_check() == []
