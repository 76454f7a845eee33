"""JSON nested past the interpreter's stack (a few kilobytes of brackets) is a clear 400 on every API that parses
JSON, never a 500, and a model answer nested that deep fails the output parser with a reason."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from llmops.accounts.models import User, Workspace
from llmops.chains.content import OutputParser
from llmops.chains.parsers import OutputParserError, output_parse
from tests.conftest import client_for
from tests.deployments.factories import DeploymentFactory, api_key

pytestmark = pytest.mark.django_db

BOMB = "[" * 100_000 + "]" * 100_000
OBJECT_BOMB = '{"inputs": ' + '{"a": ' * 50_000 + "1" + "}" * 50_000 + "}"


def _assert_parse_error(response: object) -> None:
    assert response.status_code == 400, response.content  # type: ignore[attr-defined]
    assert "nested too deeply" in response.json()["error"]["message"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("body", [BOMB, OBJECT_BOMB])
def test_the_login_endpoint_answers_deep_json_with_a_400(body: str) -> None:
    _assert_parse_error(APIClient().post("/api/auth/login/", body, content_type="application/json"))


@pytest.mark.parametrize("body", [BOMB, OBJECT_BOMB])
def test_the_public_api_answers_deep_json_with_a_400(workspace: Workspace, body: str) -> None:
    DeploymentFactory.create(workspace=workspace, slug="greet")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key(workspace)}")
    _assert_parse_error(client.post("/v1/workflows/greet/run", body, content_type="application/json"))
    _assert_parse_error(client.post("/v1/chat/completions", body, content_type="application/json"))


def test_the_console_answers_deep_json_with_a_400(workspace: Workspace, owner: User) -> None:
    client = client_for(owner)
    for url in ("/api/workspaces/acme/knowledge-bases/", "/api/workspaces/acme/prompts/"):
        _assert_parse_error(client.post(url, BOMB, content_type="application/json"))


def test_a_model_answer_nested_too_deeply_fails_the_json_output_parser_with_a_reason() -> None:
    parser = OutputParser(type="json")
    with pytest.raises(OutputParserError, match="nested too deeply"):
        output_parse(parser, BOMB)
