"""Workspace tools in real workflow runs: a tool node calls an imported OpenAPI operation through the worker's
execution path (claim, ports from the database, engine, checkpoints), with the provider's secret arriving at
the API, and every call metered."""

from __future__ import annotations

import json
from typing import Any

import pytest

from llmops.accounts.models import User, Workspace
from llmops.runs.models import NodeRun, Run, RunStatus
from llmops.runs.services import run_start
from llmops.runs.tasks import run_execute
from llmops.tools.models import ToolCall, ToolProvider
from tests.conftest import client_for
from tests.runs.test_runs import wait_final
from tests.studio.factories import published_workflow
from tests.tools.fake_api import FakeApi

pytestmark = pytest.mark.django_db(transaction=True)


def pet_lookup_dsl(tool: str = "pets__getPet") -> dict[str, Any]:
    """start(pet) -> tool (the imported getPet) -> end(name, text)."""
    return {
        "name": "Pet lookup",
        "inputs": [{"name": "pet", "type": "number", "required": True}],
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "lookup", "type": "tool", "config": {"tool": tool, "arguments": {"pet_id": "{{ start.pet }}"}}},
            {"id": "end", "type": "end",
             "config": {"outputs": {"name": "{{ lookup.result.name }}", "text": "{{ lookup.text }}"}}},
        ],
        "edges": [{"source": "start", "target": "lookup"}, {"source": "lookup", "target": "end"}],
    }  # fmt: skip


def _run(workspace: Workspace, dsl: dict[str, Any], inputs: dict[str, Any]) -> Run:
    """A run stored as accepted, then executed by the worker's task body in this process (so the test's
    allow-list setting, which admits the loopback fake, applies to it)."""
    workflow = published_workflow(workspace=workspace, slug="pet-lookup", draft=dsl)
    run = Run.objects.create(
        workspace=workspace, workflow=workflow, workflow_version=workflow.versions.get(), inputs=inputs
    )
    run_execute(str(run.id))
    return Run.objects.get(id=run.id)


def _import_pets(owner: User, fake_api: FakeApi) -> None:
    response = client_for(owner).post(
        "/api/workspaces/acme/tool-providers/import-openapi/",
        {
            "slug": "pets", "name": "Pets", "url": fake_api.url + "/openapi.json",
            "auth": {"type": "api_key", "in": "header", "name": "X-Api-Key"}, "credentials": {"api_key": "k-123"},
        },
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content


def test_a_tool_node_calls_an_imported_operation_with_its_auth_and_the_call_is_metered(
    owner: User, workspace: Workspace, fake_api: FakeApi
) -> None:
    _import_pets(owner, fake_api)
    run = _run(workspace, pet_lookup_dsl(), {"pet": 5})
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.outputs == {"name": "Rex", "text": json.dumps({"id": 5, "name": "Rex"})}
    (call,) = fake_api.calls("/pets/5")
    assert call.method == "GET" and call.headers["x-api-key"] == "k-123"
    metered = ToolCall.objects.get()
    assert (metered.tool, metered.provider_slug, metered.status, metered.source) == (
        "pets__getPet",
        "pets",
        "ok",
        "run",
    )
    assert metered.provider == ToolProvider.objects.get(slug="pets")
    assert (metered.run_id, metered.node_id) == (str(run.id), "lookup")
    assert metered.output_chars == len(json.dumps({"id": 5, "name": "Rex"}))


def test_a_failing_call_fails_the_node_with_the_reason_and_is_metered(
    owner: User, workspace: Workspace, fake_api: FakeApi
) -> None:
    _import_pets(owner, fake_api)
    fake_api.extra["/pets/9"] = (500, "text/plain", b"database on fire")
    run = _run(workspace, pet_lookup_dsl(), {"pet": 9})
    assert run.status == RunStatus.FAILED
    node = NodeRun.objects.get(run=run, node_id="lookup")
    assert "500" in json.dumps(node.error) and "database on fire" in json.dumps(node.error)
    assert ToolCall.objects.get().status == "error"


def test_a_disabled_provider_s_tools_are_unknown_to_runs(
    owner: User, workspace: Workspace, fake_api: FakeApi
) -> None:
    _import_pets(owner, fake_api)
    ToolProvider.objects.update(enabled=False)
    run = _run(workspace, pet_lookup_dsl(), {"pet": 5})
    assert run.status == RunStatus.FAILED
    assert "unknown tool 'pets__getPet'" in json.dumps(NodeRun.objects.get(run=run, node_id="lookup").error)
    assert fake_api.calls("/pets") == []


@pytest.mark.integration
def test_a_worker_process_runs_a_tool_node_and_meters_the_call(
    celery_worker_process: Any, workspace: Workspace, owner: User
) -> None:
    dsl = pet_lookup_dsl("calculator")
    dsl["nodes"][1]["config"]["arguments"] = {"expression": "{{ start.pet }} * 2"}
    dsl["nodes"][2]["config"]["outputs"] = {"name": "{{ lookup.result.result }}", "text": "{{ lookup.text }}"}
    workflow = published_workflow(workspace=workspace, slug="double", draft=dsl)
    run = wait_final(run_start(workflow=workflow, inputs={"pet": 21}, user=owner).id)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.outputs["name"] == 42
    call = ToolCall.objects.get()
    assert (call.tool, call.provider_slug, call.run_id, call.status) == ("calculator", "", str(run.id), "ok")


@pytest.mark.parametrize(
    ("nodes", "expected"),
    [
        ([{"id": "t", "type": "template"}], False),
        ([{"id": "t", "type": "tool", "config": {"tool": "calculator"}}], True),
        ([{"id": "a", "type": "agent", "parent": "each"}], True),
    ],
)
def test_only_workflows_with_tool_or_agent_nodes_read_the_providers(
    nodes: list[dict[str, Any]], expected: bool
) -> None:
    from llmops.runs.ports import uses_tools

    assert uses_tools({"nodes": [{"id": "start", "type": "start"}, *nodes]}) is expected


def test_the_metered_calls_are_listed_per_run(owner: User, workspace: Workspace, fake_api: FakeApi) -> None:
    _import_pets(owner, fake_api)
    run = _run(workspace, pet_lookup_dsl(), {"pet": 5})
    listed = client_for(owner).get(f"/api/workspaces/acme/tool-calls/?run_id={run.id}").json()
    assert [(c["tool"], c["provider_slug"], c["node_id"], c["status"]) for c in listed["results"]] == [
        ("pets__getPet", "pets", "lookup", "ok")
    ]
    assert client_for(owner).get("/api/workspaces/acme/tool-calls/?run_id=other").json()["results"] == []
