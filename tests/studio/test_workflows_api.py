"""The workflow API: engine-validated drafts, versions, export/import."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from llmops.accounts.models import User, Workspace
from llmops.studio.models import Workflow
from tests.api_contract import VersionedResourceAPIContract
from tests.conftest import client_for
from tests.studio.factories import WorkflowFactory, greeting_dsl

pytestmark = pytest.mark.django_db


class TestWorkflowAPI(VersionedResourceAPIContract):
    collection = "workflows"

    def make(self, workspace: Workspace, user: User) -> Any:
        return WorkflowFactory.create(workspace=workspace, slug="sample", created_by=user)

    def create_body(self) -> dict[str, Any]:
        return {"name": "Created", "slug": "created", "draft": greeting_dsl()}

    def update_body(self) -> dict[str, Any]:
        return {"draft": greeting_dsl("Hi {{ start.name }}!")}


def test_invalid_graph_is_refused_with_every_problem_and_its_node(workspace: Workspace, owner: User) -> None:
    # given: a draft with a dangling edge, a reference to a missing node and no end
    draft = {
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "t", "type": "template", "config": {"template": "{{ ghost.output }}"}},
        ],
        "edges": [{"source": "start", "target": "t"}, {"source": "t", "target": "nowhere"}],
    }
    # when
    response = client_for(owner).post(
        "/api/workspaces/acme/workflows/", {"name": "Bad", "slug": "bad", "draft": draft}, format="json"
    )
    # then
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    messages = " ".join(m for ms in fields.values() for m in ms)
    assert len(fields) >= 3, fields
    assert "nowhere" in messages and "ghost" in messages
    assert all(key.startswith("draft.") for key in fields)
    assert not Workflow.objects.filter(slug="bad").exists()


def test_export_then_import_round_trips_the_document(workspace: Workspace, owner: User) -> None:
    client = client_for(owner)
    WorkflowFactory.create(workspace=workspace, slug="greeting")
    exported = client.get("/api/workspaces/acme/workflows/greeting/export/")
    assert exported.status_code == 200 and exported["Content-Type"] == "application/yaml"
    document = exported.content.decode()
    created = client.post(
        "/api/workspaces/acme/workflows/import/", {"slug": "copy", "document": document}, format="json"
    )
    assert created.status_code == 201, created.content
    assert Workflow.objects.get(slug="copy").draft["nodes"] == yaml.safe_load(document)["nodes"]


def test_import_of_an_invalid_document_creates_nothing(workspace: Workspace, owner: User) -> None:
    response = client_for(owner).post(
        "/api/workspaces/acme/workflows/import/",
        {"slug": "broken", "document": "nodes: [{id: start, type: start}]\nedges: []\n"},
        format="json",
    )
    assert response.status_code == 400
    assert not Workflow.objects.filter(slug="broken").exists()


def test_import_of_text_that_is_not_yaml_is_a_clear_error(workspace: Workspace, owner: User) -> None:
    response = client_for(owner).post(
        "/api/workspaces/acme/workflows/import/", {"slug": "x", "document": "nodes: [unclosed"}, format="json"
    )
    assert response.status_code == 400
    assert "document" in response.json()["error"]["fields"]
