"""Keys for Dify's external knowledge API: a workspace API key with the ``knowledge`` scope searches, and
does nothing else; keys without the scope, of another workspace, revoked, or whose creator left, are refused
with Dify's error codes."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from llmops.accounts.models import Membership, User, Workspace
from llmops.deployments.models import ApiKey
from llmops.knowledge.models import KnowledgeBase
from tests.accounts.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.conftest import client_for
from tests.knowledge.conftest import ingest_text

pytestmark = pytest.mark.django_db(transaction=True)
RETRIEVAL = "/api/workspaces/acme/external-knowledge/retrieval"
BODY = {"knowledge_id": "docs", "query": "refund days", "retrieval_setting": {"top_k": 1}}


def new_key(user: User, workspace: str = "acme", **body: Any) -> str:
    response = client_for(user).post(
        f"/api/workspaces/{workspace}/api-keys/", {"name": "dify", **body}, format="json"
    )
    assert response.status_code == 201, response.json()
    return str(response.json()["token"])


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_a_knowledge_key_searches_and_can_do_nothing_else(kb: KnowledgeBase, member: User) -> None:
    ingest_text(kb, "Policy", "Refunds are accepted within 7 days of delivery.")
    token = new_key(member, scopes=["knowledge"])
    found = bearer(token).post(RETRIEVAL, BODY, format="json")
    assert found.status_code == 200, found.json()
    assert found.json()["records"][0]["content"].startswith("Refunds are accepted within 7 days")
    # not a login: the console API and the public run API refuse it
    assert bearer(token).get("/api/workspaces/acme/knowledge-bases/").status_code == 401
    run = bearer(token).post("/v1/workflows/anything/run", {"inputs": {}}, format="json")
    assert run.status_code == 403 and "lacks the 'run' scope" in run.json()["error"]["message"]
    assert ApiKey.objects.get(name="dify").scopes == ["knowledge"]


def test_keys_without_the_scope_of_another_workspace_revoked_or_orphaned_are_refused(
    kb: KnowledgeBase, workspace: Workspace, owner: User, member: User
) -> None:
    # a default key (run, read, chat) lacks the scope
    refused = bearer(new_key(owner)).post(RETRIEVAL, BODY, format="json")
    assert refused.status_code == 403 and refused.json()["error_code"] == 1002
    assert "knowledge" in refused.json()["error_msg"]
    # a knowledge key of another workspace, made by a member of both
    rival = WorkspaceFactory.create(slug="rival")
    MembershipFactory.create(workspace=rival, user=owner, role="owner")
    other = bearer(new_key(owner, "rival", scopes=["knowledge"])).post(RETRIEVAL, BODY, format="json")
    assert (
        other.status_code == 403 and other.json()["error_msg"] == "This API key belongs to another workspace."
    )
    # revoked
    token = new_key(owner, scopes=["knowledge"])
    key = ApiKey.objects.get(prefix=token.split("-")[1])
    assert client_for(owner).post(f"/api/workspaces/acme/api-keys/{key.pk}/revoke/").status_code == 200
    revoked = bearer(token).post(RETRIEVAL, BODY, format="json")
    assert revoked.status_code == 401 and revoked.json()["error_code"] == 1002
    # its creator left the workspace
    leaver = UserFactory.create(username="leaver")
    MembershipFactory.create(workspace=workspace, user=leaver, role="editor")
    token = new_key(leaver, scopes=["knowledge"])
    Membership.objects.filter(user=leaver).delete()
    orphaned = bearer(token).post(RETRIEVAL, BODY, format="json")
    assert orphaned.status_code == 401 and "has left" in orphaned.json()["error_msg"]
    # a malformed or unknown token
    assert (
        bearer("llm-AAAAAAAA-" + "x" * 40).post(RETRIEVAL, BODY, format="json").json()["error_code"] == 1002
    )
    assert bearer("nonsense").post(RETRIEVAL, BODY, format="json").status_code == 401
