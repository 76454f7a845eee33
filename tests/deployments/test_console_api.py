"""The console API of deployments and keys: the permission matrix, keys shown once, revocation, counters."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from llmops.accounts.models import Role, User, Workspace
from llmops.deployments.models import ApiKey, Deployment
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.conftest import client_for
from tests.deployments.factories import DeploymentFactory
from tests.studio.factories import published_workflow

pytestmark = pytest.mark.django_db
BASE = "/api/workspaces/acme"


def persona_client(
    persona: str, workspace: Workspace, owner: User, member: User, outsider: User
) -> APIClient:
    if persona == "viewer":
        viewer = MembershipFactory.create(
            workspace=workspace, user=UserFactory.create(username="vera"), role=Role.VIEWER
        )
        return client_for(viewer.user)
    return client_for({"owner": owner, "member": member, "outsider": outsider}[persona])


@pytest.mark.parametrize(
    ("persona", "read", "write"),
    [("owner", 200, True), ("member", 200, True), ("viewer", 200, False), ("outsider", 404, False)],
)
def test_deployments_follow_membership_and_role(
    persona: str, read: int, write: bool, workspace: Workspace, owner: User, member: User, outsider: User
) -> None:
    workflow = published_workflow(workspace=workspace, slug="greeting")
    DeploymentFactory.create(workspace=workspace, workflow=workflow, slug="sample")
    client = persona_client(persona, workspace, owner, member, outsider)
    denied = 404 if persona == "outsider" else 403
    assert client.get(f"{BASE}/deployments/").status_code == read
    assert client.get(f"{BASE}/deployments/sample/").status_code == read
    codes = (
        client.post(
            f"{BASE}/deployments/", {"slug": "new", "name": "New", "workflow": "greeting"}, format="json"
        ).status_code,
        client.patch(f"{BASE}/deployments/sample/", {"max_concurrent_runs": 3}, format="json").status_code,
        client.post(f"{BASE}/deployments/sample/pause/").status_code,
        client.post(f"{BASE}/deployments/sample/resume/").status_code,
        client.post(f"{BASE}/api-keys/", {"name": "k"}, format="json").status_code,
        client.delete(f"{BASE}/deployments/sample/").status_code,
    )
    assert codes == ((201, 200, 200, 200, 201, 204) if write else (denied,) * 6)


def test_creating_a_deployment_returns_its_webhook_secret_once(workspace: Workspace, owner: User) -> None:
    published_workflow(workspace=workspace, slug="greeting")
    client = client_for(owner)
    created = client.post(f"{BASE}/deployments/", {"slug": "d", "name": "D", "workflow": "greeting",
                                                   "version": "1", "execution": "worker"}, format="json")  # fmt: skip
    assert created.status_code == 201, created.json()
    assert created.json()["webhook_secret"].startswith("whsec_")
    assert "webhook_secret" not in client.get(f"{BASE}/deployments/d/").json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": "d", "name": "D"}, "workflow"),
        ({"slug": "d", "name": "D", "workflow": "greeting", "version": "9"}, None),
        ({"slug": "d", "name": "D", "workflow": "missing"}, "workflow"),
        ({"slug": "bad slug", "name": "D", "workflow": "greeting"}, "slug"),
    ],
)
def test_invalid_deployments_are_refused(
    workspace: Workspace, owner: User, body: dict[str, Any], field: str | None
) -> None:
    published_workflow(workspace=workspace, slug="greeting")
    response = client_for(owner).post(f"{BASE}/deployments/", body, format="json")
    assert response.status_code in (400, 404), response.json()
    if field:
        assert field in response.json()["error"]["fields"]
    assert not Deployment.objects.exists()


def test_a_duplicate_slug_is_a_conflict(workspace: Workspace, owner: User) -> None:
    published_workflow(workspace=workspace, slug="greeting")
    client = client_for(owner)
    body = {"slug": "d", "name": "D", "workflow": "greeting"}
    assert client.post(f"{BASE}/deployments/", body, format="json").status_code == 201
    assert client.post(f"{BASE}/deployments/", body, format="json").status_code == 409


def test_a_key_token_is_shown_once_and_listed_by_prefix(workspace: Workspace, owner: User) -> None:
    DeploymentFactory.create(workspace=workspace, slug="sample")
    client = client_for(owner)
    created = client.post(f"{BASE}/api-keys/", {"name": "prod", "scopes": ["run", "read"], "deployments": ["sample"],
                                                "requests_per_minute": 60}, format="json").json()  # fmt: skip
    assert created["token"].startswith(created["prefix"])
    listed = client.get(f"{BASE}/api-keys/").json()["results"]
    assert [(k["name"], k["prefix"], k["scopes"], k["deployments"]) for k in listed] == [
        ("prod", created["prefix"], ["run", "read"], ["sample"])
    ]
    assert "token" not in listed[0] and "digest" not in listed[0]
    assert created["token"] not in str(client.get(f"{BASE}/api-keys/{created['id']}/").json())


def test_bad_scopes_are_refused(workspace: Workspace, owner: User) -> None:
    response = client_for(owner).post(f"{BASE}/api-keys/", {"name": "k", "scopes": ["admin"]}, format="json")
    assert response.status_code == 400 and "scopes.0" in response.json()["error"]["fields"]
    assert not ApiKey.objects.exists()


def test_revoking_a_key_through_the_console(workspace: Workspace, owner: User) -> None:
    client = client_for(owner)
    created = client.post(f"{BASE}/api-keys/", {"name": "k"}, format="json").json()
    revoked = client.post(f"{BASE}/api-keys/{created['id']}/revoke/").json()
    assert revoked["revoked"] is True and revoked["revoked_at"]


def test_counters_show_todays_runs_errors_and_tokens(workspace: Workspace, owner: User) -> None:
    from tests.deployments.factories import api_key

    DeploymentFactory.create(workspace=workspace, slug="sample")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key(workspace)}")
    for name in ("a", "b"):
        api.post("/v1/workflows/sample/run", {"inputs": {"name": name}}, format="json")
    counters = client_for(owner).get(f"{BASE}/deployments/sample/counters/").json()
    assert (counters["runs"], counters["succeeded"], counters["errors"], counters["active"]) == (2, 2, 0, 0)
    assert counters["total_tokens"] == 0 and counters["cost"] == "0"


def test_the_openapi_schema_documents_the_public_api(api: APIClient, owner: User) -> None:
    schema = client_for(owner).get("/api/schema/?format=json").json()
    assert {"/v1/workflows/{slug}/run", "/v1/chat/completions", "/v1/models", "/v1/runs/{run_id}"} <= set(
        schema["paths"]
    )
    run = schema["paths"]["/v1/workflows/{slug}/run"]["post"]
    assert run["requestBody"]["content"]["application/json"]["examples"]
