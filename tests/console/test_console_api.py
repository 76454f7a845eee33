"""What the console needs from the platform: session sign-in with CSRF, the app at every console route, the
node-type catalogue and the workflow check (problems by node, variables at a node, branch handles)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from llmops.accounts.models import Role, User, Workspace
from llmops.studio.models import Workflow
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.conftest import client_for
from tests.studio.factories import greeting_dsl

pytestmark = pytest.mark.django_db


def _csrf_client() -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    response = client.get("/api/auth/session/")
    assert response.status_code == 204
    return client, response.cookies["csrftoken"].value


def test_session_sign_in_sets_a_session_the_api_accepts_and_sign_out_ends_it(owner: User) -> None:
    owner.set_password("pw-123456")
    owner.save()
    client, token = _csrf_client()
    response = client.post(
        "/api/auth/session/", {"username": "alice", "password": "pw-123456"},
        content_type="application/json", HTTP_X_CSRFTOKEN=token,
    )  # fmt: skip
    assert response.status_code == 200 and response.json()["username"] == "alice"
    assert client.get("/api/auth/me/").json()["username"] == "alice"
    assert client.get("/api/workspaces/acme/workflows/").status_code == 200

    token = client.cookies["csrftoken"].value  # rotated at sign-in
    assert client.delete("/api/auth/session/", HTTP_X_CSRFTOKEN=token).status_code == 204
    assert client.get("/api/auth/me/").status_code in (401, 403)


def test_session_sign_in_without_the_csrf_token_is_refused(owner: User) -> None:
    owner.set_password("pw-123456")
    owner.save()
    client, _ = _csrf_client()
    response = client.post(
        "/api/auth/session/", {"username": "alice", "password": "pw-123456"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert client.get("/api/auth/me/").status_code in (401, 403)


def test_a_signed_in_session_cannot_write_without_the_csrf_token(owner: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    body = {"name": "W", "slug": "w", "draft": greeting_dsl()}
    assert (
        client.post("/api/workspaces/acme/workflows/", body, content_type="application/json").status_code
        == 403
    )
    token = client.get("/api/auth/session/").cookies["csrftoken"].value
    created = client.post("/api/workspaces/acme/workflows/", body, content_type="application/json",
                          HTTP_X_CSRFTOKEN=token)  # fmt: skip
    assert created.status_code == 201


def test_wrong_password_answers_401_with_the_error_shape(owner: User) -> None:
    client, token = _csrf_client()
    response = client.post(
        "/api/auth/session/", {"username": "alice", "password": "nope"},
        content_type="application/json", HTTP_X_CSRFTOKEN=token,
    )  # fmt: skip
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Wrong username or password."


def test_missing_fields_name_the_field(db: Any) -> None:
    client, token = _csrf_client()
    response = client.post("/api/auth/session/", {}, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"username", "password"}


@pytest.fixture
def built_console(tmp_path: Path, settings: Any) -> Path:
    (tmp_path / "index.html").write_text(
        '<!doctype html><div id="root"></div><script src="/static/console/x.js">'
    )
    settings.CONSOLE_DIST = tmp_path
    return tmp_path


@pytest.mark.parametrize("path", ["/", "/w/acme/workflows", "/w/acme/workflows/greeting", "/sign-in"])
def test_every_console_route_serves_the_app_with_a_csrf_cookie(built_console: Path, path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 200
    assert b'<div id="root">' in response.content
    assert "csrftoken" in response.cookies
    assert response["Cache-Control"] == "no-cache"


def test_api_admin_and_health_paths_are_not_swallowed_by_the_console(built_console: Path) -> None:
    client = Client()
    assert client.get("/api/no-such-thing/").status_code == 404
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/admin/login/").status_code == 200
    assert b'<div id="root">' not in client.get("/admin/login/").content


def test_without_a_build_the_landing_page_says_how_to_build_it(tmp_path: Path, settings: Any) -> None:
    settings.CONSOLE_DIST = tmp_path / "missing"
    response = Client().get("/w/acme/workflows")
    assert response.status_code == 200
    assert b"make run" in response.content and b"Node.js" in response.content


def test_the_node_type_catalogue_has_a_schema_and_a_description_for_every_engine_node(owner: User) -> None:
    from workflows.nodes import NODE_KINDS

    response = client_for(owner).get("/api/node-types/")
    assert response.status_code == 200
    catalogue = {entry["type"]: entry for entry in response.json()}
    assert set(catalogue) == set(NODE_KINDS)
    llm = catalogue["llm"]
    assert llm["description"] and llm["config_schema"]["type"] == "object"
    assert "messages" in llm["config_schema"]["required"]
    assert catalogue["end"]["handles"] == [] and catalogue["template"]["handles"] == ["source"]
    assert catalogue["iteration"]["container"] is True


def test_the_node_type_catalogue_needs_a_signed_in_user(api: Any) -> None:
    assert api.get("/api/node-types/").status_code in (401, 403)


def _check(user: User, body: dict[str, Any], workspace: str = "acme") -> Any:
    return client_for(user).post(f"/api/workspaces/{workspace}/workflows/check/", body, format="json")


def test_check_pins_each_problem_on_its_node_without_saving(workspace: Workspace, owner: User) -> None:
    draft = greeting_dsl("Hello {{ ghost.name }}")
    draft["nodes"].append({"id": "llm", "type": "llm", "config": {}})
    response = _check(owner, {"draft": draft})
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    by_node = {p["node_id"] for p in body["problems"]}
    assert {"greet", "llm"} <= by_node
    ghost = next(p for p in body["problems"] if p["node_id"] == "greet")
    assert ghost["path"] == "nodes.1.config.template" and "ghost" in ghost["message"]
    assert any(p["path"].startswith("nodes.3.config.messages") for p in body["problems"])
    assert not Workflow.objects.filter(workspace=workspace).exists()


def test_check_answers_the_variables_reachable_at_a_node(owner: User) -> None:
    response = _check(owner, {"draft": greeting_dsl(), "node": "end"})
    body = response.json()
    assert body["valid"] is True
    assert body["variables"]["greet"] == {"output": "string"}
    assert "start" in body["variables"] and "run_id" in body["variables"]["sys"]
    # Only upstream nodes: the start node sees neither the template nor the end node.
    start = _check(owner, {"draft": greeting_dsl(), "node": "start"}).json()["variables"]
    assert "greet" not in start and "end" not in start


def test_check_answers_each_nodes_branch_handles(owner: User) -> None:
    draft = {
        "inputs": [{"name": "n", "type": "number"}],
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "branch", "type": "if_else", "config": {"cases": [
                {"id": "big", "conditions": [{"selector": "start.n", "operator": ">", "value": 10}]}]}},
            {"id": "end", "type": "end"},
        ],
        "edges": [{"source": "start", "target": "branch"}, {"source": "branch", "target": "end", "source_handle": "big"},
                  {"source": "branch", "target": "end", "source_handle": "else"}],
    }  # fmt: skip
    body = _check(owner, {"draft": draft}).json()
    assert body["handles"]["branch"] == ["big", "else"], body


def test_check_of_a_malformed_document_answers_its_problems_not_an_error(owner: User) -> None:
    body = _check(owner, {"draft": {"nodes": "not a list"}}).json()
    assert body["valid"] is False and body["problems"][0]["path"].startswith("nodes")
    refused = _check(owner, {"draft": ["a list"]})
    assert refused.status_code == 400 and "draft" in refused.json()["error"]["fields"]


def test_check_is_scoped_to_the_callers_workspaces(workspace: Workspace, outsider: User) -> None:
    assert _check(outsider, {"draft": greeting_dsl()}).status_code in (403, 404)


def test_a_viewer_may_check_a_document_but_not_save_one(workspace: Workspace) -> None:
    viewer = MembershipFactory.create(
        workspace=workspace, user=UserFactory.create(username="vic"), role=Role.VIEWER
    )
    assert _check(viewer.user, {"draft": greeting_dsl()}).json()["valid"] is True
    created = client_for(viewer.user).post(
        "/api/workspaces/acme/workflows/", {"name": "W", "slug": "w", "draft": greeting_dsl()}, format="json"
    )
    assert created.status_code == 403


def test_check_refuses_an_oversized_document_with_a_clear_reason(owner: User, settings: Any) -> None:
    draft = greeting_dsl()
    draft["nodes"] += [{"id": f"t{i}", "type": "template", "config": {"template": "x"}} for i in range(2000)]
    body = _check(owner, {"draft": draft}).json()
    assert body["valid"] is False and "node" in body["problems"][0]["message"]
