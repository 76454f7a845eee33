"""MCP servers as workspace tool providers: created through the API (tools listed and stored, auth headers
encrypted), refreshed, and called from a workflow run's tool node through the worker's execution path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import override_settings

from llmops.accounts.models import User, Workspace
from llmops.runs.models import Run, RunStatus
from llmops.runs.tasks import run_execute
from llmops.tools.models import ToolCall, ToolProvider
from tests.conftest import client_for
from tests.studio.factories import published_workflow
from tests.support.mcp_test_server import mcp_test_server

pytestmark = pytest.mark.django_db(transaction=True)

PROVIDERS = "/api/workspaces/acme/tool-providers/"


@pytest.fixture(params=["streamable_http", "sse"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    with (
        override_settings(LLMOPS_WORKFLOW_HTTP_ALLOWLIST=["127.0.0.1"]),
        mcp_test_server(request.param) as url,
    ):
        yield url, request.param


def _create(owner: User, url: str, transport: str) -> dict[str, object]:
    response = client_for(owner).post(
        PROVIDERS,
        {"slug": "calc", "name": "Calc", "kind": "mcp", "url": url, "transport": transport,
         "credentials": {"Authorization": "Bearer s3cret"}},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    body: dict[str, object] = response.json()
    return body


def test_an_mcp_provider_lists_the_servers_tools_and_hides_its_headers(
    owner: User, server: tuple[str, str]
) -> None:
    body = _create(owner, *server)
    tools = {t["name"]: t for t in body["tools"]}  # type: ignore[attr-defined]
    assert {"calc__add", "calc__echo_header"} <= set(tools)
    assert tools["calc__add"]["parameters"]["required"] == ["a", "b"]
    assert body["credentials_set"] == ["Authorization"] and "s3cret" not in str(body)
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM tools_toolprovider")
        assert "s3cret" not in cursor.fetchone()[0]
    refreshed = client_for(owner).post(PROVIDERS + "calc/refresh/")
    assert refreshed.status_code == 200 and refreshed.json()["tools"] == body["tools"]


def test_a_run_calls_an_mcp_tool_with_the_providers_headers(
    owner: User, workspace: Workspace, server: tuple[str, str]
) -> None:
    _create(owner, *server)
    dsl = {
        "inputs": [{"name": "a", "type": "number", "required": True}],
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "add", "type": "tool", "config": {"tool": "calc__add", "arguments": {"a": "{{ start.a }}", "b": 2}}},
            {"id": "who", "type": "tool", "config": {"tool": "calc__echo_header"}},
            {"id": "end", "type": "end", "config": {"outputs": {"sum": "{{ add.text }}", "auth": "{{ who.text }}"}}},
        ],
        "edges": [
            {"source": "start", "target": "add"}, {"source": "add", "target": "who"},
            {"source": "who", "target": "end"},
        ],
    }  # fmt: skip
    workflow = published_workflow(workspace=workspace, slug="mcp-calc", draft=dsl)
    run = Run.objects.create(workspace=workspace, workflow=workflow, workflow_version=workflow.versions.get(),
                             inputs={"a": 40})  # fmt: skip
    run_execute(str(run.id))  # the worker's task body, in this process (the loopback allow-list applies)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.outputs == {"sum": "42", "auth": "Bearer s3cret"}
    calls = ToolCall.objects.order_by("id")
    assert [(c.tool, c.provider_slug, c.status) for c in calls] == [
        ("calc__add", "calc", "ok"), ("calc__echo_header", "calc", "ok"),
    ]  # fmt: skip
    assert all(c.provider == ToolProvider.objects.get() for c in calls)
