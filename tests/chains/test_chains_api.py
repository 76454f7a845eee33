"""The chains API: the versioned-resource contract and draft validation against the workspace's prompts."""

from __future__ import annotations

from typing import Any

import pytest

from llmops.accounts.models import User, Workspace
from llmops.chains.models import Chain
from llmops.core.refs import REF_PATTERN
from tests.api_contract import VersionedResourceAPIContract
from tests.chains.conftest import MakeChain, chain_content, make_summarize_prompt
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
URL = "/api/workspaces/acme/chains/"


class TestChainAPI(VersionedResourceAPIContract):
    collection = "chains"

    def make(self, workspace: Workspace, user: User) -> Any:
        make_summarize_prompt(workspace)
        return Chain.objects.create(
            workspace=workspace, name="Sample", slug="sample", draft=chain_content(), created_by=user
        )

    def create_body(self) -> dict[str, Any]:
        return {"name": "Created", "slug": "created", "draft": chain_content()}

    def update_body(self) -> dict[str, Any]:
        return {"draft": chain_content(output_parser={"type": "list", "separator": "comma"})}


@pytest.mark.parametrize(
    ("draft", "fields"),
    [
        ({}, {"draft.prompt": ["Field required"]}),
        (
            chain_content(output_parser={"type": "xml"}),
            {"draft.output_parser.type": ["Input should be 'text', 'json' or 'list'"]},
        ),
        (
            chain_content(output_parser={"type": "json", "schema": {"type": "objekt"}}),
            {
                "draft.output_parser.schema": [
                    "Not a valid JSON Schema: 'objekt' is not valid under any of the given schemas"
                ]
            },
        ),
        (
            {"prompt": {"slug": "nope"}},
            {"draft.prompt": ["Prompt 'nope' not found."]},
        ),
        (
            {"prompt": {"slug": "summarize", "version": "staging"}},
            {"draft.prompt": ["Sample has no version or label 'staging'."]},
        ),
        (chain_content(memory={"k": 0}), {"draft.memory.k": ["Input should be greater than or equal to 1"]}),
        (
            chain_content(model="bad ref!"),
            {"draft.model": [f"String should match pattern '{REF_PATTERN}'"]},
        ),
        (
            chain_content(retriever={"knowledge_base_ids": ["kb"], "context_variable": "context"}),
            {"draft.retriever.context_variable": ["The prompt declares no variable 'context'."]},
        ),
        (
            chain_content(moderation={"input": {"keywords": [" "]}}),
            {"draft.moderation.input.keywords": ["Keywords cannot be blank."]},
        ),
    ],
)
def test_invalid_chain_is_refused_with_field_paths_and_nothing_is_saved(
    workspace: Workspace, owner: User, draft: dict[str, Any], fields: dict[str, list[str]]
) -> None:
    make_summarize_prompt(workspace)
    response = client_for(owner).post(URL, {"name": "C", "slug": "c", "draft": draft}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == fields
    assert not Chain.objects.filter(slug="c").exists()


def test_a_chain_without_any_model_is_refused(workspace: Workspace, owner: User) -> None:
    make_summarize_prompt(workspace, model=None)
    response = client_for(owner).post(
        URL, {"name": "C", "slug": "c", "draft": chain_content()}, format="json"
    )
    assert response.json()["error"]["fields"] == {
        "draft.model": ["Neither the chain nor its prompt names a model endpoint."]
    }


def test_a_chain_cannot_use_another_workspaces_prompt(
    workspace: Workspace, owner: User, outsider: User
) -> None:
    make_summarize_prompt(Workspace.objects.get(slug="other"))
    response = client_for(owner).post(
        URL, {"name": "C", "slug": "c", "draft": chain_content()}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"draft.prompt": ["Prompt 'summarize' not found."]}


def test_stored_draft_is_normalised(workspace: Workspace, owner: User, make_chain: MakeChain) -> None:
    chain = make_chain(workspace, output_parser={"type": "json", "schema": {"type": "object"}})
    assert chain.draft == {
        "prompt": {"slug": "summarize", "version": "latest"},
        "parameters": {},
        "output_parser": {"type": "json", "schema": {"type": "object"}, "separator": "lines"},
    }
