"""MCP both ways: the platform's client against a real local MCP server (streamable HTTP and SSE), and a
workflow deployment served as an MCP server, called by the official SDK's client through a real ASGI server."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from llmops.accounts.models import Workspace
from llmops.runs.models import Run, RunStatus
from llmops.tools.mcp_client import call_mcp_tool, list_mcp_tools
from tests.deployments.factories import api_key, deployment_of
from tests.studio.factories import published_workflow
from tests.support.mcp_test_server import mcp_test_server
from workflows import ToolError

LOOPBACK = override_settings(LLMOPS_WORKFLOW_HTTP_ALLOWLIST=["127.0.0.1"])


@pytest.fixture(params=["streamable_http", "sse"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    with LOOPBACK, mcp_test_server(request.param) as url:
        yield url, request.param


def test_lists_a_servers_tools_with_their_schemas(server: tuple[str, str]) -> None:
    url, transport = server
    specs = asyncio.run(list_mcp_tools(url=url, transport=transport))
    by_name = {spec.name: spec for spec in specs}
    assert {"add", "echo_header", "slow", "fail", "big"} <= set(by_name)
    assert by_name["add"].description == "Add two integers."
    assert set(by_name["add"].parameters["properties"]) == {"a", "b"}
    assert by_name["add"].parameters["required"] == ["a", "b"]


def test_calls_a_tool_and_sends_the_configured_headers(server: tuple[str, str]) -> None:
    url, transport = server
    result = asyncio.run(call_mcp_tool(url=url, transport=transport, name="add", arguments={"a": 2, "b": 40}))
    assert result.text == "42"
    echoed = asyncio.run(call_mcp_tool(url=url, transport=transport, headers={"Authorization": "Bearer s3cret"},
                                       name="echo_header", arguments={}))  # fmt: skip
    assert echoed.text == "Bearer s3cret"


def test_a_failing_tool_and_bad_arguments_are_tool_errors(server: tuple[str, str]) -> None:
    url, transport = server
    with pytest.raises(ToolError, match="the tool broke on purpose"):
        asyncio.run(call_mcp_tool(url=url, transport=transport, name="fail", arguments={}))
    with pytest.raises(ToolError, match="'add' failed"):
        asyncio.run(call_mcp_tool(url=url, transport=transport, name="add", arguments={"a": "many"}))


def test_a_slow_server_is_cut_at_the_timeout() -> None:
    with LOOPBACK, mcp_test_server("streamable_http") as url:
        started = time.monotonic()
        with pytest.raises(ToolError, match="no answer within 1 s"):
            asyncio.run(call_mcp_tool(url=url, transport="streamable_http", name="slow",
                                      arguments={"seconds": 30}, timeout=1))  # fmt: skip
        assert time.monotonic() - started < 10


@pytest.mark.parametrize("transport", ["streamable_http", "sse"])
def test_a_server_that_is_down_is_a_clear_error(transport: str) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with LOOPBACK, pytest.raises(ToolError, match=f"MCP server http://127.0.0.1:{port}/mcp: .*"):
        asyncio.run(list_mcp_tools(url=f"http://127.0.0.1:{port}/mcp", transport=transport, timeout=5))


def test_a_server_on_a_private_address_is_refused_unless_allowlisted() -> None:
    with (
        mcp_test_server("streamable_http") as url,
        override_settings(LLMOPS_WORKFLOW_HTTP_ALLOWLIST=[]),
        pytest.raises(ToolError, match="LLMOPS_WORKFLOW_HTTP_ALLOWLIST"),
    ):
        asyncio.run(list_mcp_tools(url=url, transport="streamable_http"))


def test_an_unknown_transport_is_refused() -> None:
    with pytest.raises(ToolError, match="unknown MCP transport 'stdio'"):
        asyncio.run(list_mcp_tools(url="http://127.0.0.1:1/mcp", transport="stdio"))


# --- a deployment as an MCP server -------------------------------------------------------------------------


def greeter_dsl() -> dict[str, Any]:
    return {
        "description": "Greets someone by name.",
        "inputs": [
            {"name": "name", "type": "text", "description": "who to greet", "max_length": 50},
            {"name": "style", "type": "select", "options": ["plain", "loud"], "required": False,
             "default": "plain"},
        ],
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "greet", "type": "template", "config": {
                "template": "{% if start.style == 'loud' %}HELLO {{ start.name | upper }}!{% else %}"
                            "Hello {{ start.name }}{% endif %}"}},
            {"id": "end", "type": "end", "config": {"outputs": {"greeting": "greet.output"}}},
        ],
        "edges": [{"source": "start", "target": "greet"}, {"source": "greet", "target": "end"}],
    }  # fmt: skip


async def _sdk_session_calls(url: str, token: str) -> dict[str, Any]:
    """What the official SDK's client sees: the tools, a call, a call with bad arguments."""
    import httpx

    async with (
        httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
        streamable_http_client(url, http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        init = await session.initialize()
        tools = await session.list_tools()
        ok = await session.call_tool("greeter", {"name": "Ada", "style": "loud"})
        bad = await session.call_tool("greeter", {"name": "x" * 60})
        return {"init": init, "tools": tools.tools, "ok": ok, "bad": bad}


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_a_deployment_is_an_mcp_server_for_the_official_client(
    asgi_server: str, workspace: Workspace
) -> None:
    # given: a published workflow deployed as "greeter" and a key of its workspace
    deployment_of(published_workflow(workspace=workspace, slug="greeter", draft=greeter_dsl()), slug="greeter",
                  description="Greets people.")  # fmt: skip
    token = api_key(workspace)
    # when: the SDK's client initializes, lists and calls
    seen = asyncio.run(_sdk_session_calls(f"http://{asgi_server}/v1/mcp/greeter", token))
    # then: one tool with the workflow's input schema
    assert seen["init"].serverInfo.name == "llmops-greeter"
    (tool,) = seen["tools"]
    assert (tool.name, tool.description) == ("greeter", "Greets people.")
    assert tool.inputSchema["properties"]["style"] == {"type": "string", "enum": ["plain", "loud"],
                                                       "default": "plain"}  # fmt: skip
    assert tool.inputSchema["required"] == ["name"]
    # and the call ran the workflow as a run of the deployment
    assert seen["ok"].isError is False
    assert seen["ok"].content[0].text == "HELLO ADA!"
    assert seen["ok"].structuredContent == {"greeting": "HELLO ADA!"}
    assert Run.objects.filter(status=RunStatus.SUCCEEDED, inputs__name="Ada").count() == 1
    # and bad arguments come back as a tool error naming the input, with no run
    assert seen["bad"].isError is True
    assert "inputs.name" in seen["bad"].content[0].text
    assert Run.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_the_platforms_own_mcp_client_uses_a_published_deployment(
    asgi_server: str, workspace: Workspace
) -> None:
    # given: both directions at once: our client, calling our server
    deployment_of(
        published_workflow(workspace=workspace, slug="greeter", draft=greeter_dsl()), slug="greeter"
    )
    headers = {"Authorization": f"Bearer {api_key(workspace)}"}
    url = f"http://{asgi_server}/v1/mcp/greeter"
    with LOOPBACK:
        specs = asyncio.run(list_mcp_tools(url=url, transport="streamable_http", headers=headers))
        result = asyncio.run(call_mcp_tool(url=url, transport="streamable_http", headers=headers,
                                           name="greeter", arguments={"name": "Bo"}))  # fmt: skip
    assert [s.name for s in specs] == ["greeter"]
    assert (result.data, result.text) == ({"greeting": "Hello Bo"}, "Hello Bo")


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_the_mcp_endpoint_needs_a_key_of_the_deployments_workspace(
    asgi_server: str, workspace: Workspace
) -> None:
    import httpx

    deployment_of(
        published_workflow(workspace=workspace, slug="greeter", draft=greeter_dsl()), slug="greeter"
    )
    other = Workspace.objects.create(slug="other", name="Other")
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    url = f"http://{asgi_server}/v1/mcp/greeter"
    assert httpx.post(url, json=body).status_code == 401
    assert (
        httpx.post(url, json=body, headers={"Authorization": f"Bearer {api_key(other)}"}).status_code == 404
    )
    read_only = api_key(workspace, scopes=["read"])
    assert httpx.post(url, json=body, headers={"Authorization": f"Bearer {read_only}"}).status_code == 403
    # and protocol mistakes are JSON-RPC errors, notifications are accepted
    token = {"Authorization": f"Bearer {api_key(workspace)}"}
    unknown = httpx.post(url, json={"jsonrpc": "2.0", "id": 2, "method": "resources/list"}, headers=token)
    assert unknown.json()["error"]["code"] == -32601
    wrong_tool = httpx.post(url, headers=token, json={"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                                                      "params": {"name": "other", "arguments": {}}})  # fmt: skip
    assert wrong_tool.json()["error"] == {"code": -32602, "message": "unknown tool 'other'"}
    note = httpx.post(url, headers=token, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert note.status_code == 202
    assert httpx.get(url, headers=token).status_code == 405
