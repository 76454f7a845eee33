"""The prompts API: the versioned-resource contract, draft validation, labels, diff and restore."""

from __future__ import annotations

from typing import Any

import pytest

from llmops.accounts.models import User, Workspace
from llmops.prompts.models import Prompt
from tests.api_contract import VersionedResourceAPIContract
from tests.conftest import client_for
from tests.prompts.factories import PromptFactory, chat_content

pytestmark = pytest.mark.django_db
URL = "/api/workspaces/acme/prompts/"


class TestPromptAPI(VersionedResourceAPIContract):
    collection = "prompts"

    def make(self, workspace: Workspace, user: User) -> Any:
        return PromptFactory.create(workspace=workspace, slug="sample", created_by=user)

    def create_body(self) -> dict[str, Any]:
        return {"name": "Created", "slug": "created", "draft": chat_content()}

    def update_body(self) -> dict[str, Any]:
        messages = [{"role": "user", "content": "Explain {{ topic }} briefly."}]
        return {"draft": {**chat_content(), "messages": messages}}


@pytest.mark.parametrize(
    ("draft", "fields"),
    [
        (
            {"messages": [{"role": "user", "content": "hi"}, {"role": "robot", "content": "x"}]},
            {"draft.messages.1.role": ["Input should be 'system', 'user', 'assistant' or 'placeholder'"]},
        ),
        (
            {"messages": [{"role": "user", "content": "About {{ topic }}"}]},
            {"draft.messages.0.content": ["Undeclared variable 'topic'."]},
        ),
        (
            {"type": "text", "template": "{% if %}"},
            {
                "draft.template": [
                    "Template syntax error on line 1: Expected an expression, got 'end of statement block'"
                ]
            },
        ),
        (
            {
                "type": "text",
                "template": "x",
                "variables": [{"name": "n", "type": "number", "default": "ten"}],
            },
            {"draft.variables.0": ["default: Expected a number, got str."]},
        ),
        (
            {"type": "text", "template": "x", "variables": [{"name": "n", "type": "date"}]},
            {"draft.variables.0.type": ["Input should be 'string', 'number', 'boolean', 'json' or 'list'"]},
        ),
        ({"type": "chat", "messages": []}, {"draft.messages": ["A chat prompt needs at least one message."]}),
        (
            {"type": "text", "template": "{{ a }}", "variables": [{"name": "a"}, {"name": "a"}]},
            {"draft.variables.1.name": ["'a' is declared twice."]},
        ),
        (
            {
                "messages": [{"role": "user", "content": "x"}],
                "examples": [{"input": {"nope": 1}, "output": "y"}],
            },
            {"draft.examples.0.input.nope": ["Not a declared variable."]},
        ),
        (
            {"messages": [{"role": "user", "content": "x"}], "parameters": {"temperature": 5}},
            {"draft.parameters.temperature": ["Input should be less than or equal to 2"]},
        ),
        (
            {"messages": [{"role": "user", "content": "x"}], "colour": "red"},
            {"draft.colour": ["Extra inputs are not permitted"]},
        ),
    ],
)
def test_invalid_draft_is_refused_with_field_paths_and_nothing_is_saved(
    workspace: Workspace, owner: User, draft: dict[str, Any], fields: dict[str, list[str]]
) -> None:
    response = client_for(owner).post(URL, {"name": "P", "slug": "p", "draft": draft}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == fields
    assert not Prompt.objects.filter(slug="p").exists()


def test_invalid_update_leaves_the_draft_untouched(workspace: Workspace, owner: User) -> None:
    prompt = PromptFactory.create(workspace=workspace, slug="p")
    bad = {"draft": {"messages": [{"role": "user", "content": "{{ ''.__class__.__mro__ }}"}]}}
    response = client_for(owner).patch(f"{URL}p/", bad, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["draft.messages.0.content"] == [
        "Access to the private attribute '__mro__' is not allowed.",
        "Access to the private attribute '__class__' is not allowed.",
    ]
    prompt.refresh_from_db()
    assert prompt.draft == chat_content()


def test_saved_draft_is_normalised_with_defaults(workspace: Workspace, owner: User) -> None:
    body = {
        "name": "P",
        "slug": "p",
        "draft": {"type": "text", "template": "Hi {{ who }}", "variables": [{"name": "who"}]},
    }
    draft = client_for(owner).post(URL, body, format="json").json()["draft"]
    assert draft["variables"] == [{"name": "who", "type": "string", "required": True, "description": ""}]
    assert draft["messages"] == [] and draft["parameters"] == {}


def test_labels_diff_and_restore_through_the_api(workspace: Workspace, owner: User) -> None:
    # given two published versions whose user message differs
    client = client_for(owner)
    client.post(URL, {"name": "P", "slug": "p", "draft": chat_content()}, format="json")
    client.post(f"{URL}p/publish/", {"message": "first"}, format="json")
    changed = chat_content(messages=[
        {"role": "system", "content": "You are a {{ tone }} assistant."},
        {"role": "user", "content": "Tell me a joke about {{ topic }}."},
    ])  # fmt: skip
    client.patch(f"{URL}p/", {"draft": changed}, format="json")
    client.post(f"{URL}p/publish/", {"message": "second"}, format="json")
    # when
    label = client.put(f"{URL}p/labels/", {"name": "production", "version": 1}, format="json")
    diff = client.get(f"{URL}p/diff/?from=1&to=2").json()
    restored = client.post(f"{URL}p/restore/", {"number": 1}, format="json")
    # then
    assert label.status_code == 200
    assert [change["path"] for change in diff["changes"]] == ["/messages/1/content"]
    assert diff["template_diffs"] == [
        {
            "path": "messages.1.content",
            "diff": "--- v1/messages.1.content\n+++ v2/messages.1.content\n@@ -1,2 +1,2 @@\n [user]\n"
            "-Tell me about {{ topic }}.\n+Tell me a joke about {{ topic }}.\n",
        }
    ]
    assert restored.json()["draft"] == chat_content()
    rendered = client.post(
        f"{URL}p/render/", {"version": "production", "variables": {"topic": "owls"}}, format="json"
    )
    assert rendered.json()["version"] == "1"
    assert rendered.json()["messages"][1]["content"] == "Tell me about owls."


def test_another_workspaces_prompt_cannot_be_rendered(
    workspace: Workspace, owner: User, outsider: User
) -> None:
    PromptFactory.create(workspace=Workspace.objects.get(slug="other"), slug="secret")
    response = client_for(owner).post(
        "/api/workspaces/acme/prompts/secret/render/", {"variables": {"topic": "x"}}, format="json"
    )
    assert response.status_code == 404
    forbidden = client_for(outsider).post(f"{URL}secret/render/", {}, format="json")
    assert forbidden.status_code == 404
