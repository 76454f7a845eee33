"""Hostile import documents: YAML alias bombs, self-referencing aliases, oversized and over-deep documents,
and graphs past the node cap. Each is refused with a 400 in the platform's error shape, quickly, and
creates nothing."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import yaml
from django.test import override_settings

from llmops.accounts.models import User, Workspace
from llmops.studio.models import Workflow
from tests.conftest import client_for
from tests.studio import dify_samples as samples
from tests.studio.dify_samples import dify_file, edge, node
from tests.studio.factories import greeting_dsl

IMPORT = "/api/workspaces/acme/workflows/import/"
IMPORT_DIFY = "/api/workspaces/acme/workflows/import-dify/"


def laughs(indent: str, extra: str = "", levels: int = 7) -> str:
    """Environment variables whose values alias the previous one nine times: 9**7 (4.8 million) strings
    from about 600 bytes (each further line multiplies by nine)."""
    lol = ",".join(['"lol"'] * 9)
    lines = [f"{indent}- {{name: L0, {extra}value: &l0 [{lol}]}}"]
    for level in range(1, levels):
        refs = ",".join([f"*l{level - 1}"] * 9)
        lines.append(f"{indent}- {{name: L{level}, {extra}value: &l{level} [{refs}]}}")
    return "\n".join(lines)


def our_bomb() -> str:
    """Our DSL, valid as written, whose environment expands to millions of values."""
    return yaml.safe_dump(greeting_dsl(), sort_keys=False) + "environment:\n" + laughs("  ") + "\n"


def dify_bomb() -> str:
    """A Dify file, valid as written, whose environment variables expand to millions of values."""
    text = samples.sample("branching-workflow")
    bomb = "  environment_variables:\n" + laughs("  ", "value_type: string, ")
    replaced = re.sub(r"^  environment_variables:.*$", lambda _: bomb, text, count=1, flags=re.M)
    assert replaced != text
    return replaced


def self_reference_ours() -> str:
    """An environment value that contains itself: JSON serialisation of it raises ``ValueError``."""
    return yaml.safe_dump(greeting_dsl(), sort_keys=False) + "environment:\n  - {name: X, value: &v [*v]}\n"


def self_reference_dify() -> str:
    text = samples.sample("branching-workflow")
    cycle = "  environment_variables:\n  - {name: X, value_type: string, value: &v [*v]}"
    return re.sub(r"^  environment_variables:.*$", lambda _: cycle, text, count=1, flags=re.M)


def post(user: User, url: str, document: str) -> Any:
    return client_for(user).post(url, {"slug": "bomb", "document": document}, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "document"),
    [
        (IMPORT, our_bomb()),
        (IMPORT, self_reference_ours()),
        (IMPORT_DIFY, dify_bomb()),
        (IMPORT_DIFY, self_reference_dify()),
    ],
    ids=["ours-billion-laughs", "ours-self-reference", "dify-billion-laughs", "dify-self-reference"],
)
def test_yaml_aliases_are_refused_quickly_and_create_nothing(
    workspace: Workspace, owner: User, url: str, document: str
) -> None:
    # when
    started = time.monotonic()
    response = post(owner, url, document)
    elapsed = time.monotonic() - started
    # then
    assert response.status_code == 400, response.content[:500]
    error = response.json()["error"]
    assert "alias" in error["message"].lower()
    assert "alias" in " ".join(error["fields"]["document"]).lower()
    assert elapsed < 2.0
    assert not Workflow.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", [IMPORT, IMPORT_DIFY])
def test_deeply_nested_yaml_is_refused_not_crashed_on(workspace: Workspace, owner: User, url: str) -> None:
    document = "name: " + "[" * 50_000 + "]" * 50_000 + "\n"
    response = post(owner, url, document)
    assert response.status_code == 400, response.content[:500]
    assert "document" in response.json()["error"]["fields"]
    assert not Workflow.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", [IMPORT, IMPORT_DIFY])
def test_a_document_over_the_size_cap_is_refused_with_the_cap(
    workspace: Workspace, owner: User, url: str
) -> None:
    document = yaml.safe_dump(greeting_dsl()) + "#" + "x" * 5000 + "\n"
    with override_settings(LLMOPS_WORKFLOW_MAX_DOCUMENT_BYTES=4096):
        response = post(owner, url, document)
    assert response.status_code == 400
    assert "4096" in " ".join(response.json()["error"]["fields"]["document"])
    assert not Workflow.objects.exists()


def many_nodes(count: int) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "start"}]
    nodes += [{"id": f"t{i}", "type": "template", "config": {"template": "x"}} for i in range(count)]
    edges = [{"source": "start", "target": f"t{i}"} for i in range(count)]
    return {"name": "Wide", "nodes": nodes, "edges": edges}


@pytest.mark.django_db
def test_import_past_the_node_cap_is_a_validation_problem(workspace: Workspace, owner: User) -> None:
    with override_settings(LLMOPS_WORKFLOW_MAX_NODES=10):
        response = post(owner, IMPORT, yaml.safe_dump(many_nodes(20)))
    assert response.status_code == 400
    error = response.json()["error"]
    assert any("at most 10 nodes" in message for message in error["fields"]["draft.nodes"])
    assert not Workflow.objects.exists()


@pytest.mark.django_db
def test_saving_a_draft_past_the_node_cap_is_refused(workspace: Workspace, owner: User) -> None:
    with override_settings(LLMOPS_WORKFLOW_MAX_NODES=10):
        response = client_for(owner).post(
            "/api/workspaces/acme/workflows/",
            {"name": "Wide", "slug": "wide", "draft": many_nodes(20)},
            format="json",
        )
    assert response.status_code == 400, response.content[:500]
    assert "draft.nodes" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_dify_import_past_the_node_cap_is_refused(workspace: Workspace, owner: User) -> None:
    nodes = [node(samples.START, "start", "Start", variables=[])]
    nodes += [
        node(f"17180000099{i:02d}", "template-transform", f"T{i}", template="x", variables=[])
        for i in range(20)
    ]
    edges = [edge(samples.START, f"17180000099{i:02d}") for i in range(20)]
    with override_settings(LLMOPS_WORKFLOW_MAX_NODES=10):
        response = post(owner, IMPORT_DIFY, dify_file("workflow", nodes, edges))
    assert response.status_code == 400
    assert "at most 10 nodes" in response.json()["error"]["message"]
    assert not Workflow.objects.exists()
