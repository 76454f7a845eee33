"""Debug runs from the canvas on a real worker: the unsaved draft without publishing, one node on entered
values, metered apart from production, and every bad request answered with the field it concerns."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from llmops.accounts.models import Role, User, Workspace
from llmops.runs.models import NodeRun, Run, RunStatus
from llmops.studio.models import WorkflowVersion
from llmops.usage.models import UsageRecord
from tests.accounts.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.conftest import client_for
from tests.providers.factories import ModelEndpointFactory, endpoint_config
from tests.runs.test_llm_runs import llm_dsl
from tests.runs.test_runs import event_types, wait_final
from tests.studio.factories import WorkflowFactory, greeting_dsl

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
Worker = subprocess.Popen[bytes]


def three_steps() -> dict[str, Any]:
    """start(name) -> shout -> greet -> end."""
    return {
        "inputs": [{"name": "name", "type": "text", "required": True}],
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "shout", "type": "template", "config": {"template": "{{ start.name }}!"}},
            {"id": "greet", "type": "template", "config": {"template": "Hello {{ shout.output }}"}},
            {"id": "end", "type": "end", "config": {"outputs": {"answer": "greet.output"}}},
        ],
        "edges": [
            {"source": "start", "target": "shout"},
            {"source": "shout", "target": "greet"},
            {"source": "greet", "target": "end"},
        ],
    }


def debug(user: User, slug: str, body: dict[str, Any]) -> Any:
    return client_for(user).post(f"/api/workspaces/acme/workflows/{slug}/debug-run/", body, format="json")


def test_the_unsaved_draft_runs_without_being_published(
    celery_worker_process: Worker, workspace: Workspace, owner: User
) -> None:
    # given: a workflow never published, and a canvas whose draft differs from the stored one
    workflow = WorkflowFactory.create(workspace=workspace, slug="greeting")
    unsaved = greeting_dsl("Hi {{ start.name }}, from the canvas")
    # when
    response = debug(owner, "greeting", {"draft": unsaved, "inputs": {"name": "Ada"}})
    # then: a debug run of that draft, nothing published, nothing saved
    assert response.status_code == 202, response.json()
    assert response.json()["trigger"] == "debug" and response.json()["version"] == 0
    run = wait_final(response.json()["id"])
    assert run.status == RunStatus.SUCCEEDED and run.outputs == {"answer": "Hi Ada, from the canvas"}
    workflow.refresh_from_db()
    assert workflow.latest_version_number == 0 and workflow.draft == greeting_dsl()
    assert client_for(owner).get("/api/workspaces/acme/workflows/greeting/versions/").json() == []
    # the same draft again shares its snapshot; publishing still makes v1
    again = wait_final(debug(owner, "greeting", {"draft": unsaved, "inputs": {"name": "Bo"}}).json()["id"])
    assert again.workflow_version_id == run.workflow_version_id
    assert WorkflowVersion.snapshots.filter(resource=workflow, debug=True).count() == 1
    published = client_for(owner).post("/api/workspaces/acme/workflows/greeting/publish/", {}, format="json")
    assert published.status_code == 201 and published.json()["number"] == 1
    runs = client_for(owner).get("/api/workspaces/acme/runs/?trigger=debug").json()
    assert {r["id"] for r in runs["results"]} == {str(run.id), str(again.id)}


def test_without_a_draft_the_stored_draft_runs(
    celery_worker_process: Worker, workspace: Workspace, owner: User
) -> None:
    WorkflowFactory.create(workspace=workspace, slug="greeting")
    run = wait_final(debug(owner, "greeting", {"inputs": {"name": "Ada"}}).json()["id"])
    assert run.outputs == {"answer": "Hello Ada"}


def test_one_node_runs_on_entered_values_and_nothing_downstream_runs(
    celery_worker_process: Worker, workspace: Workspace, owner: User
) -> None:
    # given
    WorkflowFactory.create(workspace=workspace, slug="steps", draft=three_steps())
    # when: greet alone, with shout's output typed by hand
    response = debug(owner, "steps", {"node": "greet", "values": {"shout": {"output": "typed"}}})
    # then
    assert response.status_code == 202, response.json()
    assert response.json()["debug_node"] == "greet"
    run = wait_final(response.json()["id"])
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.outputs == {"output": "Hello typed"}
    ran = dict(NodeRun.objects.filter(run=run).values_list("node_id", "outputs"))
    assert ran["greet"] == {"output": "Hello typed"} and "end" not in ran
    assert event_types(run).count("node_restored") == 1  # shout, from the entered value
    # and a rerun runs the same node on the same values
    rerun = client_for(owner).post(f"/api/workspaces/acme/runs/{run.id}/rerun/")
    assert rerun.status_code in (201, 202), rerun.json()
    again = wait_final(rerun.json()["id"])
    assert again.outputs == {"output": "Hello typed"} and again.debug_node == "greet"


def test_a_single_llm_node_on_the_local_model_is_metered_as_debug(
    celery_worker_process: Worker, local_chat_model_url: str, workspace: Workspace, owner: User
) -> None:
    ModelEndpointFactory.create(
        workspace=workspace, slug="local-gemma",
        draft=endpoint_config(base_url=local_chat_model_url, model="gemma3-270m"),
    )  # fmt: skip
    WorkflowFactory.create(workspace=workspace, slug="writer", draft=llm_dsl())
    response = debug(owner, "writer", {"node": "answer", "values": {"ask": {"output": "Say hello."}}})
    run = wait_final(response.json()["id"], timeout=60)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.outputs["text"]
    assert not NodeRun.objects.filter(run=run, node_id="count").exists()
    usage = UsageRecord.objects.get(run_id=str(run.id))
    assert usage.source == "debug" and usage.prompt_tokens > 0 and usage.node_id == "answer"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"draft": {"nodes": [{"id": "start", "type": "start"}], "edges": []}, "inputs": {}}, "draft"),
        ({"draft": "not a workflow"}, "draft"),
        ({"inputs": {}}, "inputs.name"),
        ({"inputs": {"name": "x" * 10}, "node": "nope"}, "node"),
        ({"node": "greet", "values": {"end": {"x": 1}}}, "values.end"),
        ({"node": "greet", "values": {"shout": "not an object"}}, "values"),
        ({"node": "greet", "values": ["a"]}, "values"),
        ({"node": "greet", "values": {"shout": {"output": "x" * 1_100_000}}}, "values"),
    ],
)
def test_bad_requests_name_their_field_and_start_nothing(
    body: dict[str, Any], field: str, workspace: Workspace, owner: User
) -> None:
    WorkflowFactory.create(workspace=workspace, slug="steps", draft=three_steps())
    response = debug(owner, "steps", body)
    assert response.status_code == 400, response.json()
    fields = response.json()["error"]["fields"]
    assert any(name == field or name.startswith(field + ".") for name in fields), fields
    assert not Run.objects.exists() and not WorkflowVersion.snapshots.filter(debug=True).exists()


def test_a_node_inside_a_container_names_the_container(workspace: Workspace, owner: User) -> None:
    draft = {
        "inputs": [{"name": "items", "type": "json"}],
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "each",
                "type": "iteration",
                "config": {"items": "start.items", "output_selector": "body.output"},
            },
            {"id": "body", "type": "template", "parent": "each", "config": {"template": "{{ each.item }}"}},
            {"id": "end", "type": "end", "config": {"outputs": {"out": "each.output"}}},
        ],
        "edges": [{"source": "start", "target": "each"}, {"source": "each", "target": "end"}],
    }
    WorkflowFactory.create(workspace=workspace, slug="loop", draft=draft)
    response = debug(owner, "loop", {"node": "body"})
    assert response.status_code == 400 and "each" in response.json()["error"]["fields"]["node"][0]


def test_viewers_cannot_start_debug_runs_and_other_workspaces_see_nothing(
    workspace: Workspace, owner: User
) -> None:
    WorkflowFactory.create(workspace=workspace, slug="greeting")
    viewer = MembershipFactory.create(workspace=workspace, user=UserFactory.create(), role=Role.VIEWER).user
    assert debug(viewer, "greeting", {"inputs": {"name": "Ada"}}).status_code == 403
    stranger = MembershipFactory.create(workspace=WorkspaceFactory.create(slug="other"), role=Role.OWNER).user
    assert debug(stranger, "greeting", {"inputs": {"name": "Ada"}}).status_code == 404
    assert not Run.objects.exists()
