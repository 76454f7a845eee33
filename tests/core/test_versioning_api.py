"""The generic versioned-resource API, exercised through the test app's Note resource."""

from __future__ import annotations

from typing import Any

import pytest

from llmops.accounts.models import User, Workspace
from tests.api_contract import VersionedResourceAPIContract
from tests.conftest import client_for
from tests.testapp.models import Note

pytestmark = pytest.mark.django_db


class TestNoteAPI(VersionedResourceAPIContract):
    collection = "notes"

    def make(self, workspace: Workspace, user: User) -> Any:
        return Note.objects.create(
            workspace=workspace, name="Sample", slug="sample", draft={"text": "a"}, created_by=user
        )

    def create_body(self) -> dict[str, Any]:
        return {"name": "Created", "slug": "created", "draft": {"text": "hello"}}

    def update_body(self) -> dict[str, Any]:
        return {"draft": {"text": "changed"}}


def test_invalid_draft_is_refused_with_the_field_path(workspace: Workspace, owner: User) -> None:
    response = client_for(owner).post(
        "/api/workspaces/acme/notes/", {"name": "N", "slug": "n", "draft": {"text": 3}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"draft.text": ["Must be a string."]}
    assert not Note.objects.filter(slug="n").exists()


def test_restore_puts_a_version_back_into_the_draft(workspace: Workspace, owner: User) -> None:
    client = client_for(owner)
    client.post(
        "/api/workspaces/acme/notes/", {"name": "N", "slug": "n", "draft": {"text": "v1"}}, format="json"
    )
    client.post("/api/workspaces/acme/notes/n/publish/", {}, format="json")
    client.patch("/api/workspaces/acme/notes/n/", {"draft": {"text": "wip"}}, format="json")
    restored = client.post("/api/workspaces/acme/notes/n/restore/", {"number": 1}, format="json")
    assert restored.json()["draft"] == {"text": "v1"}


def test_duplicate_slug_is_a_conflict(workspace: Workspace, owner: User) -> None:
    client = client_for(owner)
    body = {"name": "N", "slug": "n", "draft": {}}
    assert client.post("/api/workspaces/acme/notes/", body, format="json").status_code == 201
    response = client.post("/api/workspaces/acme/notes/", body, format="json")
    assert response.status_code == 409 and "slug" in response.json()["error"]["fields"]


def test_slug_cannot_change(workspace: Workspace, owner: User) -> None:
    client = client_for(owner)
    client.post("/api/workspaces/acme/notes/", {"name": "N", "slug": "n"}, format="json")
    response = client.patch("/api/workspaces/acme/notes/n/", {"slug": "m"}, format="json")
    assert response.status_code == 400


def test_unknown_version_is_not_found(workspace: Workspace, owner: User) -> None:
    client = client_for(owner)
    client.post("/api/workspaces/acme/notes/", {"name": "N", "slug": "n"}, format="json")
    assert client.get("/api/workspaces/acme/notes/n/versions/9/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_saves_on_the_same_etag_at_once_let_exactly_one_win(workspace: Workspace, owner: User) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    Note.objects.create(
        workspace=workspace, name="Sample", slug="sample", draft={"text": "a"}, created_by=owner
    )
    etag = client_for(owner).get("/api/workspaces/acme/notes/sample/")["ETag"]

    def save(text: str) -> int:
        try:
            response = client_for(owner).patch(
                "/api/workspaces/acme/notes/sample/",
                {"draft": {"text": text}},
                format="json",
                HTTP_IF_MATCH=etag,
            )
            return response.status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = sorted(pool.map(save, ["one", "two", "three", "four"]))
    assert codes == [200, 412, 412, 412]
