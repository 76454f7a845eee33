"""Import of Dify DSL files: conversion, the report, the API (creates nothing on failure), and runs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import yaml

from llmops.accounts.models import Role, User, Workspace
from llmops.studio.dify import convert_dify
from llmops.studio.models import Workflow
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.conftest import client_for
from tests.studio import dify_samples as samples
from tests.studio.dify_samples import dify_file, edge, node
from tests.studio.factories import greeting_dsl
from workflows import ChatMessage, Executor, HttpResponse, Ports, RunResult, validate_workflow
from workflows.sandbox import SubprocessSandbox
from workflows.testing import FakeHttpClient, FakeModelGateway

URL = "/api/workspaces/acme/workflows/import-dify/"


def import_dify(user: User, document: str, slug: str = "imported") -> Any:
    return client_for(user).post(URL, {"slug": slug, "document": document}, format="json")


def imported(user: User, document: str, slug: str = "imported") -> dict[str, Any]:
    response = import_dify(user, document, slug)
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    return body


def by_id(draft: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in draft["nodes"]}


def handles(draft: dict[str, Any], source: str) -> dict[str, str]:
    return {e.get("source_handle", "source"): e["target"] for e in draft["edges"] if e["source"] == source}


def run(draft: dict[str, Any], inputs: dict[str, Any], ports: Ports, **options: Any) -> RunResult:
    return asyncio.run(Executor(draft, ports=ports).run_to_completion("run-1", inputs, **options))


# --- (a) a workflow app with branches ---------------------------------------------------------------------


@pytest.mark.django_db
def test_branching_workflow_is_imported_with_converted_references_and_handles(
    workspace: Workspace, owner: User
) -> None:
    # when
    body = imported(owner, samples.sample("branching-workflow"), slug="summariser")
    # then: created, valid, readable ids and our reference syntax
    draft = Workflow.objects.get(workspace=workspace, slug="summariser").draft
    assert body["workflow"]["name"] == "Summariser" and body["workflow"]["draft"] == draft
    assert validate_workflow(draft) == []
    nodes = by_id(draft)
    assert list(nodes) == [
        "start", "llm", "template", "if_else", "code", "http_request", "variable_aggregator", "end"
    ]  # fmt: skip
    assert [i["name"] for i in draft["inputs"]] == ["topic", "count", "tone"]
    assert (
        nodes["llm"]["config"]["messages"][1]["content"]
        == "Summarise {{ start.topic }} in a {{ start.tone }} tone."
    )
    assert nodes["llm"]["config"]["model"] == "openai/gpt-4o"
    assert nodes["llm"]["retry"]["max_attempts"] == 3
    assert nodes["template"]["config"]["variables"] == {"summary": "llm.text"}
    assert nodes["if_else"]["config"]["cases"][1]["conditions"][1] == {
        "selector": "start.topic", "operator": "starts_with", "value": "{{ start.tone }}"
    }  # fmt: skip
    assert nodes["http_request"]["config"]["headers"]["X-Topic"] == "{{ start.topic }}"
    assert nodes["http_request"]["error_strategy"] == "fail_branch"
    assert nodes["end"]["config"]["outputs"] == {"result": "variable_aggregator.output"}
    # handles: case ids, Dify's "false" as else, fail-branch as fail
    assert handles(draft, "if_else") == {
        "true": "code",
        "case_2": "http_request",
        "else": "variable_aggregator",
    }
    assert set(handles(draft, "http_request")) == {"source", "fail"}
    # the API key stays out of the draft: it is a secret to bind
    assert "sk-live-123" not in yaml.safe_dump(draft)
    bindings = {(b["kind"], b["reference"]) for b in body["report"]["bindings"]}
    assert bindings == {("model", "openai/gpt-4o"), ("secret", "HTTP_REQUEST_API_KEY")}
    assert body["report"]["ok"] is True and body["report"]["unsupported"] == []


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({"topic": "Ada", "count": 12, "tone": "dry"}, "Summary: Summarise Ada in a dry tone. x12"),
        ({"topic": "warm rain", "count": 3, "tone": "warm"}, "notified"),
        ({"topic": "Ada", "count": 3, "tone": "dry"}, "Summary: Summarise Ada in a dry tone."),
    ],
    ids=["code-branch", "http-branch", "else-branch"],
)
def test_imported_branching_workflow_runs_each_branch(inputs: dict[str, Any], expected: str) -> None:
    # given: the converted graph with fake model and HTTP adapters and the real code sandbox
    draft = convert_dify(samples.sample("branching-workflow")).workflow
    assert draft is not None
    notified = HttpResponse(
        200, {"content-type": "text/plain"}, b"notified", "https://api.example.com/notify"
    )
    http = FakeHttpClient({("POST", "https://api.example.com/notify"): notified})
    ports = Ports(models=FakeModelGateway(), sandbox=SubprocessSandbox(), http=http)
    # when
    result = run(draft, inputs, ports, env={"HTTP_REQUEST_API_KEY": "s3cret"})
    # then
    assert result.status == "succeeded", result.error
    assert result.outputs == {"result": expected}
    if http.requests:
        assert http.requests[0].headers["Authorization"] == "Bearer s3cret"
        assert http.requests[0].content == b'{"text": "Summary: Summarise warm rain in a warm tone."}'


# --- (b) an advanced-chat app ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_chat_app_keeps_answer_memory_query_and_variables(workspace: Workspace, owner: User) -> None:
    body = imported(owner, samples.sample("chat-app"), slug="helpdesk")
    draft = body["workflow"]["draft"]
    assert draft["mode"] == "chat"
    llm = by_id(draft)["llm"]["config"]
    assert llm["memory"] == {"window": 6}
    assert llm["messages"] == [
        {"role": "system", "content": "You help {{ conversation.customer }}. Key: {{ env.REGION }}"},
        {"role": "user", "content": "{{ sys.query }}"},
    ]
    assert by_id(draft)["answer"]["config"]["answer"] == "{{ llm.text }}"
    assert {v["name"]: v.get("type", "string") for v in draft["environment"]} == {
        "REGION": "string",
        "API_TOKEN": "secret",
    }
    assert draft["conversation_variables"][0]["default"] == "a customer"
    report = body["report"]
    assert ("model", "anthropic/claude-3-5-sonnet") in {
        (b["kind"], b["reference"]) for b in report["bindings"]
    }
    assert any("opening statement" in w["message"] for w in report["warnings"])


def test_imported_chat_app_answers_the_query_after_the_history() -> None:
    draft = convert_dify(samples.sample("chat-app")).workflow
    assert draft is not None
    models = FakeModelGateway()
    history = (ChatMessage("user", "hi"), ChatMessage("assistant", "hello"))
    result = run(draft, {}, Ports(models=models), query="Where is my parcel?", history=history)
    assert result.status == "succeeded", result.error
    assert result.outputs == {"answer": "Where is my parcel?"}
    messages = [(m.role, m.content) for m in models.requests[0].messages]
    assert messages == [
        ("system", "You help a customer. Key: eu"),
        ("user", "hi"),
        ("assistant", "hello"),
        ("user", "Where is my parcel?"),
    ]


# --- (c) containers ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_iteration_and_loop_bodies_become_containers(workspace: Workspace, owner: User) -> None:
    draft = imported(owner, samples.sample("containers-workflow"))["workflow"]["draft"]
    nodes = by_id(draft)
    assert nodes["shout"]["parent"] == "iteration" and nodes["add"]["parent"] == "loop_1"
    assert nodes["iteration"]["config"] == {
        "items": "split.items", "output_selector": "shout.output", "parallel": True, "max_parallel": 4,
        "error_mode": "terminate",
    }  # fmt: skip
    loop = nodes["loop_1"]["config"]
    assert loop["variables"] == [{"name": "total", "value": 0, "update": "add.total"}]
    assert loop["break_conditions"] == [{"selector": "loop_1.total", "operator": "ge", "value": "6"}]
    # the start markers and the folded assigner are gone; the body entry has no incoming edge
    assert set(nodes) == {"start", "split", "iteration", "shout", "loop_1", "add", "end"}
    assert not [e for e in draft["edges"] if e["target"] in ("shout", "add")]


def test_imported_containers_run_to_the_expected_output() -> None:
    draft = convert_dify(samples.sample("containers-workflow")).workflow
    assert draft is not None
    result = run(draft, {"words": "a b c"}, Ports(sandbox=SubprocessSandbox()))
    assert result.status == "succeeded", result.error
    assert result.outputs == {"shouted": ["A!", "B!", "C!"], "total": 6}


# --- (d) model-backed nodes --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_classifier_extractor_and_retrieval_list_their_bindings(workspace: Workspace, owner: User) -> None:
    body = imported(owner, samples.sample("knowledge-workflow"))
    nodes = by_id(body["workflow"]["draft"])
    retrieval = nodes["knowledge_retrieval"]["config"]
    assert retrieval["query"] == "{{ start.question }}"
    assert (retrieval["top_k"], retrieval["score_threshold"]) == (3, 0.5)
    classifier = nodes["question_classifier"]["config"]
    assert [c["id"] for c in classifier["classes"]] == ["class_1", "class_2"]
    assert handles(body["workflow"]["draft"], "question_classifier") == {
        "class_1": "parameter_extractor", "class_2": "answer_with_context"
    }  # fmt: skip
    extractor = nodes["parameter_extractor"]["config"]
    assert extractor["parameters"][1] == {
        "name": "currency", "type": "string", "description": "Currency", "required": False,
        "enum": ["EUR", "USD"],
    }  # fmt: skip
    assert nodes["end_billing"]["config"]["outputs"]["ok"] == "parameter_extractor.is_success"
    system = nodes["answer_with_context"]["config"]["messages"][0]["content"]
    assert system == "Use this context:\n{{ knowledge_retrieval.context }}"
    report = body["report"]
    bindings = {(b["kind"], b["reference"]): b["nodes"] for b in report["bindings"]}
    assert bindings == {
        ("knowledge_base", "6f1c0b7e-aaaa-4b4b-8c8c-111111111111"): ["knowledge_retrieval"],
        ("knowledge_base", "6f1c0b7e-bbbb-4b4b-8c8c-222222222222"): ["knowledge_retrieval"],
        ("model", "openai/gpt-4o-mini"): ["question_classifier", "parameter_extractor"],
        ("model", "openai/gpt-4o"): ["answer_with_context"],
    }
    assert any("reranking" in w["message"] for w in report["warnings"])


# --- (e), (f) failures create nothing ---------------------------------------------------------------------


@pytest.mark.django_db
def test_unsupported_nodes_are_all_reported_and_nothing_is_created(workspace: Workspace, owner: User) -> None:
    response = import_dify(owner, samples.sample("unsupported-nodes-workflow"))
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "invalid"
    assert {
        "document.nodes.1718000000301",
        "document.nodes.1718000000302",
    } <= set(body["error"]["fields"])
    unsupported = {(u["type"], u["title"]) for u in body["report"]["unsupported"]}
    # the conversation variable assigner ("Remember") imports now: see tests/studio/test_dify_conversation.py
    assert unsupported == {("tool", "Google Search"), ("agent", "Agent")}
    assert body["report"]["ok"] is False
    assert not Workflow.objects.exists()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("title: a shopping list\nitems: [milk, eggs]\n", "not a Dify DSL file"),
        (yaml.safe_dump(greeting_dsl()), "regular import"),
        ("app: {mode: chat, name: Bot}\nkind: app\nversion: 0.1.5\nmodel_config: {}\n", "mode 'chat'"),
        ("app: {mode: agent-chat, name: Bot}\nkind: app\n", "mode 'agent-chat'"),
        ("app: [unclosed", "not YAML"),
    ],
    ids=["other-yaml", "our-own-dsl", "chat-app", "agent-app", "not-yaml"],
)
@pytest.mark.django_db
def test_files_that_are_not_importable_dify_apps_are_refused_clearly(
    workspace: Workspace, owner: User, document: str, message: str
) -> None:
    response = import_dify(owner, document)
    assert response.status_code == 400
    body = response.json()
    assert message in body["error"]["message"]
    assert body["error"]["fields"]["document"] == body["report"]["errors"]
    assert not Workflow.objects.exists()


@pytest.mark.django_db
def test_a_graph_the_engine_rejects_reports_every_problem_with_dify_node_ids(
    workspace: Workspace, owner: User
) -> None:
    # given: an end reading an output the llm does not have, and a node nothing leads to
    nodes = [
        node(samples.START, "start", "Start", variables=[]),
        node(samples.TEMPLATE, "template-transform", "Orphan", template="x", variables=[]),
        node(
            samples.END, "end", "End", outputs=[{"variable": "r", "value_selector": [samples.START, "nope"]}]
        ),
    ]
    document = dify_file("workflow", nodes, [edge(samples.START, samples.END)])
    # when
    response = import_dify(owner, document)
    # then
    assert response.status_code == 400
    problems = response.json()["report"]["problems"]
    assert {p["dify_node_id"] for p in problems} == {samples.TEMPLATE, samples.END}
    assert all(key.startswith("draft.") for key in response.json()["error"]["fields"])
    assert not Workflow.objects.exists()


# --- (g) tenancy -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_outsider_cannot_import_into_a_workspace(workspace: Workspace, outsider: User) -> None:
    assert import_dify(outsider, samples.sample("chat-app")).status_code == 404
    assert not Workflow.objects.exists()


@pytest.mark.django_db
def test_viewer_cannot_import(workspace: Workspace) -> None:
    viewer = MembershipFactory.create(
        workspace=workspace, user=UserFactory.create(username="vera"), role=Role.VIEWER
    ).user
    assert import_dify(viewer, samples.sample("chat-app")).status_code == 403
    assert not Workflow.objects.exists()


# --- conversion details (no database) ----------------------------------------------------------------------


def single_node_file(
    kind: str, title: str = "Step", end_outputs: dict[str, str] | None = None, **data: Any
) -> str:
    """start(text) -> <one node> -> end."""
    step = "1718000000501"
    nodes = [
        node(samples.START, "start", "Start", variables=[{"variable": "text", "type": "text-input"}]),
        node(step, kind, title, **data),
        node(samples.END, "end", "End", outputs=[
            {"variable": k, "value_selector": [step, v]} for k, v in (end_outputs or {}).items()
        ]),
    ]  # fmt: skip
    return dify_file("workflow", nodes, [edge(samples.START, step), edge(step, samples.END)])


def test_javascript_code_becomes_a_python_stub_with_a_warning() -> None:
    conversion = convert_dify(
        single_node_file(
            "code", code_language="javascript", code="function main({text}) { return {out: text} }",
            variables=[{"variable": "text", "value_selector": [samples.START, "text"]}],
            outputs={"out": {"type": "string"}},
        )
    )  # fmt: skip
    assert conversion.ok  # the stub is valid Python: the import succeeds, conversion.report.to_dict()
    assert conversion.workflow is not None
    code = by_id(conversion.workflow)["step"]["config"]["code"]
    assert "# function main({text})" in code and "def main(text):" in code
    assert any("JavaScript" in w.message for w in conversion.report.warnings)


def test_an_operator_without_equivalent_fails_instead_of_changing_the_branch() -> None:
    cases = [
        {
            "case_id": "true",
            "logical_operator": "or",
            "conditions": [
                {
                    "variable_selector": [samples.START, "text"],
                    "comparison_operator": "all of",
                    "value": ["a"],
                },
                {
                    "variable_selector": [samples.START, "text"],
                    "comparison_operator": "matches",
                    "value": "x",
                },
            ],
        }
    ]
    conversion = convert_dify(single_node_file("if-else", cases=cases))
    assert not conversion.ok
    reasons = [u.reason for u in conversion.report.unsupported]
    assert reasons == ["case 1 condition 1: operator 'all of' has no equivalent",
                       "case 1 condition 2: operator 'matches' has no equivalent"]  # fmt: skip


def test_old_style_if_else_uses_true_and_else_handles() -> None:
    conditions = [{"variable_selector": [samples.START, "text"], "comparison_operator": "empty", "value": ""}]
    document = yaml.safe_load(single_node_file("if-else", conditions=conditions, logical_operator="and"))
    graph = document["workflow"]["graph"]
    graph["edges"][1]["sourceHandle"] = "true"
    graph["edges"].append(edge("1718000000501", samples.END, "false"))
    conversion = convert_dify(document)
    assert conversion.workflow is not None, conversion.report.to_dict()
    assert handles(conversion.workflow, "step") == {"true": "end", "else": "end"}
    case = by_id(conversion.workflow)["step"]["config"]["cases"][0]
    assert case["conditions"] == [{"selector": "start.text", "operator": "empty"}]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{#1718000000001.text#}}", "{{ start.text }}"),
        ("Q: {{#sys.query#}} by {{#sys.user_id#}}", "Q: {{ sys.query }} by {{ sys.user_id }}"),
        ("run {{#sys.workflow_run_id#}}", "run {{ sys.run_id }}"),
        ("literal {{ x }} and {% y %}", "literal {{ '{{' }} x }} and {{ '{%' }} y %}"),
    ],
)
def test_dify_placeholders_become_our_references_and_literal_jinja_is_escaped(
    text: str, expected: str
) -> None:
    conversion = convert_dify(single_node_file("answer", answer=text))
    answer = by_id(conversion.workflow or {"nodes": []}).get("step")
    assert answer is not None, conversion.report.to_dict()
    assert answer["config"]["answer"] == expected


def test_sys_files_and_unknown_nodes_in_references_are_reported() -> None:
    conversion = convert_dify(single_node_file("answer", answer="{{#sys.files#}} {{#999.text#}}"))
    assert not conversion.ok
    reasons = " | ".join(u.reason for u in conversion.report.unsupported)
    assert "sys.files has no equivalent" in reasons and "no node '999'" in reasons


def test_sticky_notes_are_ignored() -> None:
    document = yaml.safe_load(single_node_file("answer", answer="hi"))
    note = {"id": "n1", "type": "custom-note", "data": {"type": "", "text": "remember", "title": ""}}
    document["workflow"]["graph"]["nodes"].append(note)
    conversion = convert_dify(document)
    assert conversion.ok and "n1" not in conversion.report.node_ids


def test_malformed_node_settings_are_reported_not_crashed_on() -> None:
    conversion = convert_dify(single_node_file("template-transform", template="x", variables="oops"))
    assert not conversion.ok
    assert "malformed" in conversion.report.unsupported[0].reason


def test_unquoted_numeric_ids_in_yaml_still_resolve() -> None:
    document = single_node_file("answer", answer="{{#1718000000001.text#}}")
    document = document.replace("'1718000000001'", "1718000000001")
    assert "id: 1718000000001" in document
    conversion = convert_dify(document)
    assert conversion.ok, conversion.report.to_dict()


def test_code_packages_are_reported_with_a_warning_for_each_one_not_allowed(
    settings: Any, tmp_path: Any
) -> None:
    settings.LLMOPS_SANDBOX_PACKAGES = ["requests", "numpy", "pyyaml"]
    settings.LLMOPS_SANDBOX_PACKAGES_DIR = str(tmp_path)
    source = (
        "import json\nimport numpy as np\nimport yaml\nfrom sklearn.linear_model import LinearRegression\n"
        "import requests.adapters\ndef main(text):\n    import torch\n    return {'out': text}"
    )
    conversion = convert_dify(
        single_node_file(
            "code", code_language="python3", code=source, dependencies=[{"name": "jieba", "version": ""}],
            variables=[{"variable": "text", "value_selector": [samples.START, "text"]}],
            outputs={"out": {"type": "string"}},
        )
    )  # fmt: skip
    assert conversion.ok
    refused = [w.message for w in conversion.report.warnings if "LLMOPS_SANDBOX_PACKAGES" in w.message]
    named = sorted(message.split("'")[1] for message in refused)
    assert named == ["jieba", "scikit-learn", "torch"]
