"""The accounts API: sign-in, workspaces and members, scoped by membership and role."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from llmops.accounts.models import Membership, Role, User, Workspace
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _persona(name: str, owner: User, member: User, outsider: User) -> User:
    return {"owner": owner, "member": member, "outsider": outsider}[name]


@pytest.mark.parametrize(
    ("persona", "method", "path", "body", "expected"),
    [
        ("owner", "get", "/api/workspaces/acme/", None, 200),
        ("member", "get", "/api/workspaces/acme/", None, 200),
        ("outsider", "get", "/api/workspaces/acme/", None, 404),
        ("owner", "patch", "/api/workspaces/acme/", {"name": "Acme Inc"}, 200),
        ("member", "patch", "/api/workspaces/acme/", {"name": "Acme Inc"}, 403),
        ("outsider", "patch", "/api/workspaces/acme/", {"name": "Acme Inc"}, 404),
        ("member", "delete", "/api/workspaces/acme/", None, 403),
        ("outsider", "delete", "/api/workspaces/acme/", None, 404),
        ("owner", "delete", "/api/workspaces/acme/", None, 204),
        ("owner", "get", "/api/workspaces/acme/members/", None, 200),
        ("member", "get", "/api/workspaces/acme/members/", None, 200),
        ("outsider", "get", "/api/workspaces/acme/members/", None, 404),
        ("owner", "post", "/api/workspaces/acme/invitations/", {"username": "dave", "role": "viewer"}, 201),
        ("member", "post", "/api/workspaces/acme/invitations/", {"username": "dave", "role": "viewer"}, 403),
        (
            "outsider",
            "post",
            "/api/workspaces/acme/invitations/",
            {"username": "dave", "role": "viewer"},
            404,
        ),
    ],
)
def test_workspace_endpoints_are_scoped_by_membership_and_role(
    persona: str, method: str, path: str, body: Any, expected: int, owner: User, member: User, outsider: User
) -> None:
    UserFactory.create(username="dave")
    client = client_for(_persona(persona, owner, member, outsider))
    response = getattr(client, method)(path, body, format="json")
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert set(response.json()["error"]) >= {"code", "message"}


def test_workspace_list_shows_only_the_callers_workspaces(owner: User, outsider: User) -> None:
    slugs = [w["slug"] for w in client_for(owner).get("/api/workspaces/").json()]
    assert slugs == ["acme"]
    assert [w["slug"] for w in client_for(outsider).get("/api/workspaces/").json()] == ["other"]


def test_creating_a_workspace_makes_the_caller_its_owner(outsider: User) -> None:
    response = client_for(outsider).post("/api/workspaces/", {"name": "New Team"}, format="json")
    assert response.status_code == 201
    assert response.json()["slug"] == "new-team" and response.json()["role"] == "owner"
    assert Membership.objects.get(workspace__slug="new-team").user == outsider


def test_taken_workspace_slug_is_a_conflict_naming_the_field(owner: User) -> None:
    response = client_for(owner).post("/api/workspaces/", {"name": "x", "slug": "acme"}, format="json")
    assert response.status_code == 409
    assert "slug" in response.json()["error"]["fields"]


def test_missing_fields_are_reported_with_their_paths(owner: User) -> None:
    body = {"email": "not-an-email", "role": "boss"}
    response = client_for(owner).post("/api/workspaces/acme/invitations/", body, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"email", "role"}


def test_anonymous_requests_are_unauthenticated(workspace: Workspace) -> None:
    response = APIClient().get("/api/workspaces/acme/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_only_owners_grant_the_owner_role(owner: User, workspace: Workspace) -> None:
    admin = MembershipFactory.create(
        workspace=workspace, user=UserFactory.create(username="erin"), role=Role.ADMIN
    ).user
    target = MembershipFactory.create(
        workspace=workspace, user=UserFactory.create(username="frank"), role=Role.VIEWER
    )
    path = f"/api/workspaces/acme/members/{target.pk}/"
    assert client_for(admin).patch(path, {"role": "owner"}, format="json").status_code == 403
    assert client_for(admin).patch(path, {"role": "editor"}, format="json").status_code == 200
    assert client_for(owner).patch(path, {"role": "owner"}, format="json").status_code == 200


def test_the_last_owner_can_neither_leave_nor_be_demoted(owner: User, workspace: Workspace) -> None:
    mine = Membership.objects.get(user=owner, workspace=workspace)
    client = client_for(owner)
    response = client.patch(f"/api/workspaces/acme/members/{mine.pk}/", {"role": "admin"}, format="json")
    assert response.status_code == 409
    assert client.delete(f"/api/workspaces/acme/members/{mine.pk}/").status_code == 409
    assert Membership.objects.filter(workspace=workspace, role=Role.OWNER).count() == 1


def test_a_member_may_leave_but_not_remove_others(owner: User, member: User, workspace: Workspace) -> None:
    owners_membership = Membership.objects.get(user=owner, workspace=workspace)
    own = Membership.objects.get(user=member, workspace=workspace)
    client = client_for(member)
    assert client.delete(f"/api/workspaces/acme/members/{owners_membership.pk}/").status_code == 403
    assert client.delete(f"/api/workspaces/acme/members/{own.pk}/").status_code == 204


def test_member_ids_of_another_workspace_are_not_found(owner: User, outsider: User) -> None:
    foreign = Membership.objects.get(user=outsider)
    response = client_for(owner).patch(
        f"/api/workspaces/acme/members/{foreign.pk}/", {"role": "viewer"}, format="json"
    )
    assert response.status_code == 404


def test_login_returns_a_token_that_authenticates_and_logout_revokes_it(owner: User) -> None:
    client = APIClient()
    login = client.post("/api/auth/login/", {"username": "alice", "password": "pass-word-123"}, format="json")
    assert login.status_code == 201
    client.credentials(HTTP_AUTHORIZATION=f"Token {login.json()['token']}")
    assert client.get("/api/auth/me/").json()["username"] == "alice"
    assert client.post("/api/auth/logout/").status_code == 204
    assert client.get("/api/auth/me/").status_code == 401


def test_wrong_password_is_refused(owner: User) -> None:
    response = APIClient().post("/api/auth/login/", {"username": "alice", "password": "nope"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Wrong username or password."


def test_tokens_are_stored_hashed(owner: User) -> None:
    from knox.models import AuthToken

    response = APIClient().post(
        "/api/auth/login/", {"username": "alice", "password": "pass-word-123"}, format="json"
    )
    token = response.json()["token"]
    stored = AuthToken.objects.get(user=owner)
    assert token not in stored.digest and stored.token_key == token[: len(stored.token_key)]


def test_session_auth_serves_the_console(owner: User) -> None:
    client = APIClient()
    assert client.login(username="alice", password="pass-word-123")
    assert client.get("/api/workspaces/acme/").status_code == 200
