"""The tool-provider API: CRUD, roles, tenant isolation, built-in providers with credentials, MCP refusals,
and the workspace's tool list."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection

from llmops.accounts.models import Role, User, Workspace
from llmops.tools.models import ToolProvider
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.conftest import client_for
from tests.tools.factories import ToolProviderFactory, tiny_document
from tests.tools.fake_api import FakeApi

pytestmark = pytest.mark.django_db

PROVIDERS = "/api/workspaces/acme/tool-providers/"


def _viewer(workspace: Workspace) -> User:
    user = UserFactory.create(username="vera")
    MembershipFactory.create(workspace=workspace, user=user, role=Role.VIEWER)
    return user


def _create(user: User, **body: Any) -> Any:
    data = {
        "slug": "tiny",
        "name": "Tiny",
        "kind": "openapi",
        "document": json.dumps(tiny_document()),
        **body,
    }
    return client_for(user).post(PROVIDERS, {k: v for k, v in data.items() if v is not None}, format="json")


def test_an_editor_creates_lists_updates_and_deletes_a_provider(member: User, workspace: Workspace) -> None:
    created = _create(member, description="A tiny API")
    assert created.status_code == 201, created.content
    assert created.json()["tools"][0]["name"] == "tiny__ping"
    listed = client_for(member).get(PROVIDERS).json()
    assert [p["slug"] for p in listed] == ["tiny"]
    patched = client_for(member).patch(
        PROVIDERS + "tiny/", {"enabled": False, "name": "Tiny 2"}, format="json"
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["enabled"] is False and patched.json()["name"] == "Tiny 2"
    assert client_for(member).delete(PROVIDERS + "tiny/").status_code == 204
    assert ToolProvider.objects.count() == 0


def test_a_taken_slug_is_a_409_and_a_slug_cannot_change(member: User) -> None:
    assert _create(member).status_code == 201
    assert _create(member).status_code == 409
    renamed = client_for(member).patch(PROVIDERS + "tiny/", {"slug": "other"}, format="json")
    assert renamed.status_code == 400 and "slug" in renamed.json()["error"]["fields"]


def test_a_viewer_reads_but_cannot_write_or_test(workspace: Workspace) -> None:
    ToolProviderFactory.create(workspace=workspace, slug="tiny")
    viewer = _viewer(workspace)
    assert client_for(viewer).get(PROVIDERS + "tiny/").status_code == 200
    assert client_for(viewer).get("/api/workspaces/acme/tools/").status_code == 200
    assert _create(viewer, slug="mine").status_code == 403
    assert client_for(viewer).patch(PROVIDERS + "tiny/", {"enabled": False}, format="json").status_code == 403
    assert client_for(viewer).delete(PROVIDERS + "tiny/").status_code == 403
    test = client_for(viewer).post(
        "/api/workspaces/acme/tools/calculator/test/", {"arguments": {}}, format="json"
    )
    assert test.status_code == 403


def test_another_workspaces_provider_and_tools_are_not_found(outsider: User, workspace: Workspace) -> None:
    ToolProviderFactory.create(workspace=workspace, slug="tiny")
    client = client_for(outsider)
    assert client.get(PROVIDERS + "tiny/").status_code == 404
    assert client.patch(PROVIDERS + "tiny/", {"enabled": False}, format="json").status_code == 404
    assert client.delete(PROVIDERS + "tiny/").status_code == 404
    assert client.post(PROVIDERS + "tiny/refresh/").status_code == 404
    assert client.get("/api/workspaces/acme/tools/").status_code == 404
    assert client.post("/api/workspaces/acme/tools/tiny__ping/test/", {}, format="json").status_code == 404
    # and in the outsider's own workspace the provider does not exist
    assert client.get("/api/workspaces/other/tool-providers/tiny/").status_code == 404
    names = [t["name"] for t in client.get("/api/workspaces/other/tools/").json()]
    assert "tiny__ping" not in names and "calculator" in names
    assert ToolProvider.objects.get().enabled is True


def test_the_tool_list_has_builtins_and_enabled_providers_with_schemas(
    owner: User, workspace: Workspace
) -> None:
    ToolProviderFactory.create(workspace=workspace, slug="tiny")
    ToolProviderFactory.create(workspace=workspace, slug="off", enabled=False)
    tools = {t["name"]: t for t in client_for(owner).get("/api/workspaces/acme/tools/").json()}
    assert tools["calculator"]["kind"] == "builtin" and tools["calculator"]["provider"] is None
    assert tools["calculator"]["parameters"]["required"] == ["expression"]
    assert {"web_reader", "duckduckgo_search", "wikipedia_search"} <= set(tools)
    assert tools["tiny__ping"] == {
        "name": "tiny__ping", "description": "Ping.", "parameters": tools["tiny__ping"]["parameters"],
        "provider": "tiny", "kind": "openapi",
    }  # fmt: skip
    assert "off__ping" not in tools


def test_a_builtin_test_call_is_metered(owner: User) -> None:
    response = client_for(owner).post(
        "/api/workspaces/acme/tools/calculator/test/", {"arguments": {"expression": "6 * 7"}}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["ok"] is True and response.json()["result"] == {"result": 42}
    missing = client_for(owner).post(
        "/api/workspaces/acme/tools/calculator/test/", {"arguments": {}}, format="json"
    )
    assert missing.status_code == 400
    assert "'expression' is a required property" in missing.json()["error"]["fields"]["arguments"][0]


def test_the_builtin_catalogue_lists_credentialed_providers(owner: User) -> None:
    catalogue = {
        p["name"]: p for p in client_for(owner).get("/api/workspaces/acme/builtin-tool-providers/").json()
    }
    assert {"tavily", "searxng"} <= set(catalogue)
    assert catalogue["tavily"]["credentials"][0] == {"name": "api_key", "label": "API key", "secret": True,
                                                    "required": True}  # fmt: skip
    assert catalogue["tavily"]["tools"][0]["name"] == "tavily_search"


def test_a_builtin_provider_keeps_its_secret_encrypted_and_its_tools_their_names(owner: User) -> None:
    response = _create(owner, slug="search", kind="builtin", builtin_provider="tavily", document=None,
                       credentials={"api_key": "tvly-SECRET"})  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["credentials_set"] == ["api_key"] and body["settings"] == {}
    assert [t["name"] for t in body["tools"]] == ["tavily_search"]
    assert "tvly-SECRET" not in response.content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM tools_toolprovider")
        assert "tvly-SECRET" not in cursor.fetchone()[0]
    tools = [t["name"] for t in client_for(owner).get("/api/workspaces/acme/tools/").json()]
    assert "tavily_search" in tools
    # a second Tavily provider would shadow the first one's tool names
    again = _create(owner, slug="search2", kind="builtin", builtin_provider="tavily", document=None,
                    credentials={"api_key": "x"})  # fmt: skip
    assert again.status_code == 409 and "builtin_provider" in again.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"builtin_provider": "nope"}, "builtin_provider"),
        ({"builtin_provider": "tavily"}, "credentials.api_key"),
        ({"builtin_provider": "tavily", "credentials": {"api_key": "k", "extra": "x"}}, "credentials.extra"),
        (
            {"builtin_provider": "searxng", "credentials": {"base_url": "http://10.0.0.2"}},
            "credentials.base_url",
        ),
    ],
)
def test_a_builtin_provider_with_unusable_settings_is_refused(
    owner: User, body: dict[str, Any], field: str
) -> None:
    response = _create(owner, slug="b", kind="builtin", document=None, **body)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]


def test_a_searxng_provider_shows_its_base_url_and_calls_it(owner: User, fake_api: FakeApi) -> None:
    fake_api.extra["/search"] = (200, "application/json", json.dumps(
        {"results": [{"title": "Rex", "url": "https://pets.example/rex", "content": "A dog."}]}).encode())  # fmt: skip
    response = _create(owner, slug="searx", kind="builtin", builtin_provider="searxng", document=None,
                       credentials={"base_url": fake_api.url, "api_key": "sx-key"})  # fmt: skip
    assert response.status_code == 201, response.content
    assert response.json()["settings"] == {"base_url": fake_api.url}
    assert response.json()["credentials_set"] == ["api_key", "base_url"]
    called = client_for(owner).post(
        "/api/workspaces/acme/tools/searxng_search/test/", {"arguments": {"query": "rex"}}, format="json"
    )
    assert called.json()["ok"] is True, called.content
    assert called.json()["result"][0]["title"] == "Rex"
    (seen,) = fake_api.calls("/search")
    assert seen.query["q"] == ["rex"] and seen.headers["authorization"] == "Bearer sx-key"


def test_credentials_are_merged_on_update_and_removed_by_an_empty_value(owner: User) -> None:
    _create(owner, slug="search", kind="builtin", builtin_provider="searxng", document=None,
            credentials={"base_url": "https://searx.example.org", "api_key": "one"})  # fmt: skip
    patched = client_for(owner).patch(PROVIDERS + "search/", {"credentials": {"api_key": ""}}, format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["credentials_set"] == ["base_url"]
    assert ToolProvider.objects.get().credentials == {"base_url": "https://searx.example.org"}


def test_an_editor_cannot_send_stored_secrets_to_another_host(owner: User, member: User) -> None:
    # given: a SearXNG provider whose key the owner set up
    _create(owner, slug="search", kind="builtin", builtin_provider="searxng", document=None,
            credentials={"base_url": "https://searx.example.org", "api_key": "one"})  # fmt: skip
    # when: an editor points it at a host of their own, without the key
    moved = client_for(member).patch(
        PROVIDERS + "search/", {"credentials": {"base_url": "https://attacker.example.net"}}, format="json"
    )
    # then: refused on the credentials, nothing changed
    assert moved.status_code == 400
    assert "api_key" in moved.json()["error"]["fields"]["credentials"][0]
    assert ToolProvider.objects.get().credentials == {
        "base_url": "https://searx.example.org",
        "api_key": "one",
    }
    # and with the key given again, or on the same origin, it moves
    same = client_for(member).patch(
        PROVIDERS + "search/", {"credentials": {"base_url": "https://searx.example.org/v2"}}, format="json"
    )
    assert same.status_code == 200, same.content
    again = client_for(member).patch(PROVIDERS + "search/", {"credentials": {
        "base_url": "https://other.example.net", "api_key": "two"}}, format="json")  # fmt: skip
    assert again.status_code == 200, again.content


@pytest.mark.parametrize(
    ("url", "reason"),
    [("http://10.0.0.3/mcp", "LLMOPS_WORKFLOW_HTTP_ALLOWLIST"), ("ftp://example.com/mcp", "http://")],
)
def test_an_mcp_server_on_a_private_address_is_refused(owner: User, url: str, reason: str) -> None:
    response = _create(owner, slug="mcp", kind="mcp", url=url, document=None)
    assert response.status_code == 400
    assert reason in response.json()["error"]["fields"]["url"][0]


def test_an_mcp_server_that_is_down_is_refused_with_the_reason(owner: User, fake_api: FakeApi) -> None:
    url = fake_api.url.rsplit(":", 1)[0] + ":9/mcp"  # the discard port: nothing listens
    response = _create(owner, slug="mcp", kind="mcp", url=url, transport="streamable_http", document=None)
    assert response.status_code == 400, response.content
    assert "cannot be reached" in response.json()["error"]["fields"]["url"][0]
    assert ToolProvider.objects.count() == 0


def test_a_pasted_provider_cannot_be_refreshed(owner: User, workspace: Workspace) -> None:
    ToolProviderFactory.create(workspace=workspace, slug="tiny")
    response = client_for(owner).post(PROVIDERS + "tiny/refresh/")
    assert response.status_code == 400 and "url" in response.json()["error"]["fields"]
