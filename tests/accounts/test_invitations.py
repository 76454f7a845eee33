"""Invitations: nobody joins a workspace without accepting, and inviting reveals nothing about accounts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from llmops.accounts.models import Invitation, Membership, Role, User, Workspace
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

INVITATIONS = "/api/workspaces/acme/invitations/"


def _persona(name: str, owner: User, member: User, outsider: User) -> User:
    return {"owner": owner, "member": member, "outsider": outsider}[name]


def _invite(user: User, **body: str) -> Any:
    return client_for(user).post(INVITATIONS, body, format="json")


def _without_identity(body: dict[str, Any]) -> dict[str, Any]:
    """The answer minus what necessarily differs between two invitations (id, timestamps, the address)."""
    return {k: v for k, v in body.items() if k not in {"id", "created_at", "expires_at", "username", "email"}}


def test_adding_a_member_directly_is_no_longer_possible(owner: User, workspace: Workspace) -> None:
    # given an account "dave" who never agreed to join
    dave = UserFactory.create(username="dave")
    # when the owner tries the old direct add
    response = client_for(owner).post("/api/workspaces/acme/members/", {"username": "dave", "role": "viewer"})
    # then nothing is added and nothing about dave is returned
    assert response.status_code == 405
    assert "dave@example.com" not in response.content.decode()
    assert not Membership.objects.filter(user=dave).exists()


@pytest.mark.parametrize(
    ("field", "existing", "unknown"),
    [("username", "dave", "nobody-here"), ("email", "dave@example.com", "nobody@example.com")],
)
def test_inviting_answers_identically_for_existing_and_unknown_accounts(
    field: str, existing: str, unknown: str, owner: User
) -> None:
    UserFactory.create(username="dave", is_staff=True)
    for_existing = _invite(owner, role="editor", **{field: existing})
    for_unknown = _invite(owner, role="editor", **{field: unknown})
    assert for_existing.status_code == for_unknown.status_code == 201
    assert _without_identity(for_existing.json()) == _without_identity(for_unknown.json())
    assert set(for_existing.json()) == set(for_unknown.json())
    # the answer echoes the address typed, nothing the account has (no email for a username, no staff flag)
    assert for_existing.json()[field] == existing
    assert "is_staff" not in for_existing.content.decode()
    if field == "username":
        assert "dave@example.com" not in for_existing.content.decode()
    assert not Membership.objects.filter(user__username="dave").exists()


@pytest.mark.parametrize(
    ("persona", "role", "expected"),
    [
        ("owner", "viewer", 201),
        ("owner", "owner", 201),
        ("admin", "editor", 201),
        ("admin", "owner", 403),
        ("member", "viewer", 403),
        # an owner of another workspace is nobody here: being "owner somewhere" grants nothing
        ("outsider", "viewer", 404),
    ],
)
def test_only_admins_invite_and_only_owners_invite_owners(
    persona: str, role: str, expected: int, owner: User, member: User, outsider: User, workspace: Workspace
) -> None:
    admin = MembershipFactory.create(
        workspace=workspace, user=UserFactory.create(username="erin"), role=Role.ADMIN
    ).user
    actor = admin if persona == "admin" else _persona(persona, owner, member, outsider)
    response = _invite(actor, username="dave", role=role)
    assert response.status_code == expected, response.content
    assert Invitation.objects.exists() == (expected == 201)


@pytest.mark.parametrize(("persona", "expected"), [("owner", 200), ("member", 403), ("outsider", 404)])
def test_pending_invitations_are_listed_to_admins_only(
    persona: str, expected: int, owner: User, member: User, outsider: User
) -> None:
    _invite(owner, email="Dave@Example.com", role="viewer")
    response = client_for(_persona(persona, owner, member, outsider)).get(INVITATIONS)
    assert response.status_code == expected
    if expected == 200:
        [row] = response.json()
        assert (
            row["email"] == "dave@example.com" and row["status"] == "pending" and row["invited_by"] == "alice"
        )


def test_invitee_sees_the_invitation_and_becomes_a_member_only_by_accepting(owner: User) -> None:
    dave = UserFactory.create(username="dave")
    invitation = _invite(owner, username="dave", role="editor").json()
    client = client_for(dave)
    # the invitee sees it, and is not a member yet
    [pending] = client.get("/api/invitations/").json()
    assert pending["id"] == invitation["id"] and pending["role"] == "editor"
    assert pending["workspace"] == {"slug": "acme", "name": "Acme"} and pending["invited_by"] == "alice"
    assert client.get("/api/workspaces/acme/").status_code == 404
    # accepting makes the membership
    accepted = client.post(f"/api/invitations/{invitation['id']}/accept/")
    assert accepted.status_code == 200 and accepted.json()["role"] == "editor"
    assert client.get("/api/workspaces/acme/").status_code == 200
    assert client.get("/api/invitations/").json() == []
    # and an accepted invitation cannot be used again
    assert client.post(f"/api/invitations/{invitation['id']}/accept/").status_code == 404


def test_an_invitation_by_email_reaches_the_account_with_that_email(owner: User) -> None:
    UserFactory.create(username="dave", email="dave@example.com")
    _invite(owner, email="DAVE@example.com", role="viewer")
    dave = User.objects.get(username="dave")
    assert [i["workspace"]["slug"] for i in client_for(dave).get("/api/invitations/").json()] == ["acme"]


def test_declining_leaves_no_membership(owner: User) -> None:
    dave = UserFactory.create(username="dave")
    invitation = _invite(owner, username="dave", role="viewer").json()
    client = client_for(dave)
    assert client.post(f"/api/invitations/{invitation['id']}/decline/").status_code == 204
    assert client.post(f"/api/invitations/{invitation['id']}/accept/").status_code == 404
    assert not Membership.objects.filter(user=dave).exists()


@pytest.mark.parametrize("answer", ["accept", "decline"])
def test_nobody_else_can_answer_an_invitation(answer: str, owner: User, member: User, outsider: User) -> None:
    # given an invitation for dave (who has no account yet)
    invitation = _invite(owner, username="dave", role="admin").json()
    # when the outsider, or a member, tries to accept or decline it with its id
    for intruder in (outsider, member):
        client = client_for(intruder)
        assert client.get("/api/invitations/").json() == []
        response = client.post(f"/api/invitations/{invitation['id']}/{answer}/")
        # then it does not exist for them, and nothing changed
        assert response.status_code == 404
    assert Membership.objects.get(user=member).role == Role.EDITOR
    assert not Membership.objects.filter(user=outsider, workspace__slug="acme").exists()
    assert Invitation.objects.get().status == "pending"


def test_an_expired_invitation_is_hidden_and_cannot_be_accepted(owner: User) -> None:
    dave = UserFactory.create(username="dave")
    invitation = _invite(owner, username="dave", role="viewer").json()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    client = client_for(dave)
    assert client.get("/api/invitations/").json() == []
    response = client.post(f"/api/invitations/{invitation['id']}/accept/")
    assert response.status_code == 409 and "expired" in response.json()["error"]["message"]
    assert client_for(owner).get(INVITATIONS).json()[0]["status"] == "expired"
    assert not Membership.objects.filter(user=dave).exists()


def test_invitations_expire_after_the_configured_days(owner: User, settings: Any) -> None:
    settings.INVITATION_TTL_DAYS = 3
    body = _invite(owner, username="dave", role="viewer").json()
    created = Invitation.objects.get(pk=body["id"])
    assert created.expires_at - created.created_at == pytest.approx(
        timedelta(days=3), abs=timedelta(seconds=5)
    )


def test_a_revoked_invitation_cannot_be_accepted(owner: User) -> None:
    dave = UserFactory.create(username="dave")
    invitation = _invite(owner, username="dave", role="viewer").json()
    assert client_for(owner).delete(f"{INVITATIONS}{invitation['id']}/").status_code == 204
    assert client_for(dave).post(f"/api/invitations/{invitation['id']}/accept/").status_code == 404
    assert client_for(owner).get(INVITATIONS).json() == []


def test_only_owners_revoke_an_invitation_to_the_owner_role(owner: User, workspace: Workspace) -> None:
    admin = MembershipFactory.create(
        workspace=workspace, user=UserFactory.create(username="erin"), role=Role.ADMIN
    ).user
    invitation = _invite(owner, username="dave", role="owner").json()
    assert client_for(admin).delete(f"{INVITATIONS}{invitation['id']}/").status_code == 403
    assert client_for(owner).delete(f"{INVITATIONS}{invitation['id']}/").status_code == 204


def test_an_invitation_dies_with_its_inviters_standing(owner: User, workspace: Workspace) -> None:
    # given an admin who invited dave, and was then removed from the workspace
    erin = MembershipFactory.create(
        workspace=workspace, user=UserFactory.create(username="erin"), role=Role.ADMIN
    )
    dave = UserFactory.create(username="dave")
    invitation = _invite(erin.user, username="dave", role="admin").json()
    client_for(owner).delete(f"/api/workspaces/acme/members/{erin.pk}/")
    # then the invitation no longer grants anything
    response = client_for(dave).post(f"/api/invitations/{invitation['id']}/accept/")
    assert response.status_code == 409
    assert not Membership.objects.filter(user=dave).exists()


def test_inviting_the_same_address_again_refreshes_the_pending_invitation(owner: User) -> None:
    first = _invite(owner, username="dave", role="viewer").json()
    second = _invite(owner, username="dave", role="editor").json()
    assert first["id"] == second["id"] and second["role"] == "editor"
    assert Invitation.objects.count() == 1


def test_inviting_a_member_by_username_is_a_conflict(owner: User, member: User) -> None:
    response = _invite(owner, username="bob", role="viewer")
    assert response.status_code == 409 and "username" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"role": "viewer"}, {"username", "email"}),
        ({"username": "dave", "email": "dave@example.com", "role": "viewer"}, {"username", "email"}),
        ({"email": "not-an-email", "role": "viewer"}, {"email"}),
        ({"username": "dave", "role": "boss"}, {"role"}),
    ],
)
def test_bad_invitations_name_their_fields(body: dict[str, str], fields: set[str], owner: User) -> None:
    response = client_for(owner).post(INVITATIONS, body, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == fields


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "------------------------------------", "1"])
def test_malformed_invitation_ids_are_not_found(bad_id: str, owner: User) -> None:
    assert client_for(owner).post(f"/api/invitations/{bad_id}/accept/").status_code == 404
    assert client_for(owner).delete(f"{INVITATIONS}{bad_id}/").status_code == 404


def test_member_list_shows_usernames_and_roles_but_not_others_email_or_staff_flag(
    owner: User, member: User
) -> None:
    User.objects.filter(pk=owner.pk).update(is_staff=True)
    members = client_for(member).get("/api/workspaces/acme/members/").json()
    by_name = {m["user"]["username"]: m for m in members}
    assert by_name["alice"]["role"] == "owner" and by_name["alice"]["user"]["email"] is None
    assert by_name["bob"]["user"]["email"] == "bob@example.com"
    assert "is_staff" not in str(members) and "alice@example.com" not in str(members)
