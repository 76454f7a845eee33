"""The CRUD x permission matrix every versioned-resource API must pass (after netbox's APIViewTestCases).

A resource's test module subclasses :class:`VersionedResourceAPIContract` in a ``Test*`` class and says
where the API lives, how to make one resource and what valid create/update bodies look like.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from llmops.accounts.models import Role, User, Workspace
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.conftest import client_for

READ = [("owner", 200), ("member", 200), ("viewer", 200), ("outsider", 404)]
WRITE = [("owner", True), ("member", True), ("viewer", False), ("outsider", False)]


class VersionedResourceAPIContract:
    """Mix into a ``Test*`` class; set ``collection`` (URL segment) and the three hooks."""

    collection: str = ""

    def make(self, workspace: Workspace, user: User) -> Any:
        """Create one resource with slug ``sample`` in ``workspace`` directly (not through the API)."""
        raise NotImplementedError

    def create_body(self) -> dict[str, Any]:
        """A valid body for POST (slug ``created``)."""
        raise NotImplementedError

    def update_body(self) -> dict[str, Any]:
        """A valid body for PATCH."""
        raise NotImplementedError

    # --- helpers -------------------------------------------------------------------------------------------
    def _url(self, suffix: str = "") -> str:
        return f"/api/workspaces/acme/{self.collection}/{suffix}"

    def _client(
        self, persona: str, workspace: Workspace, owner: User, member: User, outsider: User
    ) -> APIClient:
        if persona == "viewer":
            viewer = MembershipFactory.create(
                workspace=workspace, user=UserFactory.create(username="vera"), role=Role.VIEWER
            )
            return client_for(viewer.user)
        return client_for({"owner": owner, "member": member, "outsider": outsider}[persona])

    # --- the matrix ----------------------------------------------------------------------------------------
    @pytest.mark.parametrize(("persona", "expected"), READ)
    def test_list_and_retrieve_follow_membership(
        self, persona: str, expected: int, workspace: Workspace, owner: User, member: User, outsider: User
    ) -> None:
        self.make(workspace, owner)
        client = self._client(persona, workspace, owner, member, outsider)
        listing = client.get(self._url())
        detail = client.get(self._url("sample/"))
        assert (listing.status_code, detail.status_code) == (expected, expected)
        if expected == 200:
            assert [item["slug"] for item in listing.json()["results"]] == ["sample"]

    @pytest.mark.parametrize(("persona", "allowed"), WRITE)
    def test_writes_need_the_editor_role(
        self, persona: str, allowed: bool, workspace: Workspace, owner: User, member: User, outsider: User
    ) -> None:
        self.make(workspace, owner)
        client = self._client(persona, workspace, owner, member, outsider)
        denied = 404 if persona == "outsider" else 403
        created = client.post(self._url(), self.create_body(), format="json")
        updated = client.patch(self._url("sample/"), self.update_body(), format="json")
        published = client.post(self._url("sample/publish/"), {"message": "m"}, format="json")
        deleted = client.delete(self._url("sample/"))
        codes = (created.status_code, updated.status_code, published.status_code, deleted.status_code)
        assert codes == ((201, 200, 201, 204) if allowed else (denied,) * 4), [
            created.content,
            updated.content,
        ]

    def test_another_workspaces_resource_is_invisible(
        self, workspace: Workspace, owner: User, outsider: User
    ) -> None:
        other = Workspace.objects.get(slug="other")
        self.make(other, outsider)
        client = client_for(owner)
        assert client.get(self._url("sample/")).status_code == 404
        assert client.get(self._url()).json()["results"] == []

    def test_anonymous_is_unauthenticated(self, workspace: Workspace, owner: User) -> None:
        self.make(workspace, owner)
        assert APIClient().get(self._url()).status_code == 401

    def test_publish_label_resolve_and_diff_through_the_api(self, workspace: Workspace, owner: User) -> None:
        self.make(workspace, owner)
        client = client_for(owner)
        assert client.post(self._url("sample/publish/"), {"message": "one"}, format="json").status_code == 201
        assert client.patch(self._url("sample/"), self.update_body(), format="json").status_code == 200
        second = client.post(self._url("sample/publish/"), {"message": "two"}, format="json").json()
        assert second["number"] == 2 and second["message"] == "two"
        label = client.put(self._url("sample/labels/"), {"name": "production", "version": 1}, format="json")
        assert label.json() == {**label.json(), "name": "production", "version": 1}
        versions = client.get(self._url("sample/versions/")).json()
        assert [(v["number"], v["labels"]) for v in versions] == [(2, []), (1, ["production"])]
        diff = client.get(self._url("sample/diff/?from=1&to=2")).json()
        assert diff["changes"], "two different versions must differ"
        again = client.post(self._url("sample/publish/"), {}, format="json")
        assert again.status_code == 409

    def test_an_update_with_a_stale_etag_is_refused_and_changes_nothing(
        self, workspace: Workspace, owner: User
    ) -> None:
        # given: two people loaded the resource (same ETag)
        self.make(workspace, owner)
        client = client_for(owner)
        loaded = client.get(self._url("sample/"))
        etag = loaded["ETag"]
        assert etag
        # when: the first saves, then the second saves on the state they loaded
        first = client.patch(self._url("sample/"), self.update_body(), format="json", HTTP_IF_MATCH=etag)
        second = client.patch(self._url("sample/"), {"name": "Overwrite"}, format="json", HTTP_IF_MATCH=etag)
        # then: the first lands with a new ETag, the second is a 412 naming the conflict, and nothing changed
        assert first.status_code == 200, first.json()
        assert first["ETag"] and first["ETag"] != etag
        assert second.status_code == 412
        assert second.json()["error"]["code"] == "precondition_failed"
        assert "Reload" in second.json()["error"]["message"]
        assert client.get(self._url("sample/")).json()["name"] != "Overwrite"
        # the new ETag works; "*" and no header at all update unconditionally (API clients are unaffected)
        assert (
            client.patch(
                self._url("sample/"), {"name": "A"}, format="json", HTTP_IF_MATCH=first["ETag"]
            ).status_code
            == 200
        )
        assert (
            client.patch(self._url("sample/"), {"name": "B"}, format="json", HTTP_IF_MATCH="*").status_code
            == 200
        )
        assert client.patch(self._url("sample/"), {"name": "C"}, format="json").status_code == 200
        assert (
            client.patch(
                self._url("sample/"), {"name": "D"}, format="json", HTTP_IF_MATCH='"garbage"'
            ).status_code
            == 412
        )
