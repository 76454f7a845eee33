"""The DSL: YAML/JSON round trip, schema version, JSON Schema export, typed inputs."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from tests.workflows._helpers import end, start, wf
from workflows import (
    DocumentError,
    DocumentLimits,
    InputValidationError,
    Workflow,
    WorkflowValidationError,
    load_yaml,
    workflow_json_schema,
)
from workflows.nodes import NODE_KINDS

YAML = """
schema_version: "1.0"
name: greeter
mode: chat
inputs:
  - {name: name, type: text, max_length: 20}
  - {name: tone, type: select, options: [warm, dry], required: false, default: warm}
environment:
  - {name: API_KEY, type: secret}
nodes:
  - {id: start, type: start}
  - id: hello
    type: template
    title: Say hello
    config: {template: "Hello {{ start.name }}"}
    retry: {max_attempts: 3, backoff_seconds: 0.1}
    timeout_seconds: 5
    error_strategy: default_value
    default_outputs: {output: hi}
  - {id: end, type: end, config: {outputs: {greeting: hello.output}}}
edges:
  - {source: start, target: hello}
  - {source: hello, target: end}
outputs:
  - {name: greeting, type: string}
"""


def test_yaml_round_trip_preserves_the_workflow() -> None:
    workflow = Workflow.from_yaml(YAML)
    again = Workflow.from_yaml(workflow.to_yaml())
    assert again == workflow
    assert workflow.nodes[1].retry.max_attempts == 3
    assert workflow.nodes[1].error_strategy == "default_value"


def test_json_round_trip_preserves_the_workflow() -> None:
    workflow = Workflow.from_yaml(YAML)
    assert Workflow.from_json(workflow.to_json()) == workflow


def test_export_leaves_out_defaults() -> None:
    exported = wf([start(), end()], ["start->end"]).to_dict()
    assert exported["nodes"][0] == {"id": "start", "type": "start"}
    assert "retry" not in exported["nodes"][1]


def test_unsupported_schema_major_version_is_rejected() -> None:
    with pytest.raises(WorkflowValidationError, match="unsupported schema_version"):
        Workflow.from_dict({"schema_version": "2.0"})


def test_structural_errors_are_all_reported_with_paths() -> None:
    with pytest.raises(WorkflowValidationError) as caught:
        Workflow.from_dict(
            {"nodes": [{"id": "1bad", "type": "start"}, {"type": "end"}], "edges": [{"source": "x"}]}
        )
    paths = {p.path for p in caught.value.problems}
    assert {"nodes.0.id", "nodes.1.id", "edges.0.target"} <= paths


def test_json_schema_export_covers_every_node_type_and_validates_a_document() -> None:
    schema = workflow_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for name in NODE_KINDS:
        assert any(
            d.get("properties", {}).get("type", {}).get("const") == name for d in schema["$defs"].values()
        )
    jsonschema.validate(Workflow.from_yaml(YAML).to_dict(), schema)
    bad = {"nodes": [{"id": "t", "type": "template", "config": {"templ": "x"}}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


INPUT_FIELDS = [
    {"name": "text", "type": "text", "max_length": 5},
    {"name": "para", "type": "paragraph", "required": False},
    {"name": "count", "type": "number", "minimum": 0, "maximum": 10, "required": False},
    {"name": "choice", "type": "select", "options": ["a", "b"], "required": False},
    {"name": "flag", "type": "boolean", "required": False},
    {"name": "data", "type": "json", "required": False, "json_schema": {"type": "object", "required": ["k"]}},
    {"name": "doc", "type": "file", "required": False},
]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"text": "hi"}, {"text": "hi", "para": None, "count": None}),
        ({"text": "hi", "count": "7"}, {"count": 7}),
        ({"text": "hi", "count": 2.5}, {"count": 2.5}),
        ({"text": "hi", "flag": "true"}, {"flag": True}),
        ({"text": "hi", "data": '{"k": 1}'}, {"data": {"k": 1}}),
        (
            {"text": "hi", "doc": "file-1"},
            {"doc": {"file_id": "file-1", "name": "", "mime_type": "", "size": None}},
        ),
    ],
)
def test_inputs_are_coerced_to_their_declared_types(given: dict[str, Any], expected: dict[str, Any]) -> None:
    workflow = Workflow.model_validate({"inputs": INPUT_FIELDS})
    coerced = workflow.validate_inputs(given)
    assert {k: coerced[k] for k in expected} == expected


def test_every_bad_input_is_reported_at_once() -> None:
    workflow = Workflow.model_validate({"inputs": INPUT_FIELDS})
    bad = {"text": "too long", "count": 11, "choice": "c", "flag": "maybe", "data": {"x": 1}, "extra": 1}
    with pytest.raises(InputValidationError) as caught:
        workflow.validate_inputs(bad)
    paths = sorted(p.path for p in caught.value.problems)
    assert paths == [
        "inputs.choice",
        "inputs.count",
        "inputs.data",
        "inputs.extra",
        "inputs.flag",
        "inputs.text",
    ]


def test_missing_required_input_is_reported() -> None:
    workflow = Workflow.model_validate({"inputs": [{"name": "q"}]})
    with pytest.raises(InputValidationError, match="is required"):
        workflow.validate_inputs({})


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (YAML + "description: &d hi\nextra: *d\n", "aliases are not allowed"),
        ("name: x\nenvironment:\n  - {name: L, value: &v [*v]}\n", "aliases are not allowed"),
        ("name: " + "[" * 1000 + "]" * 1000, "nested deeper than 64"),
        (YAML + "#" + "x" * 5000, "at most 4096 bytes"),
    ],
    ids=["alias", "self-reference", "deep", "large"],
)
def test_hostile_documents_are_refused_before_anything_walks_them(document: str, reason: str) -> None:
    limits = DocumentLimits(max_bytes=4096)
    with pytest.raises(DocumentError, match=reason):
        load_yaml(document, limits=limits)
    with pytest.raises(WorkflowValidationError, match=reason):
        Workflow.from_yaml(document, limits=limits)


def test_json_nested_past_the_stack_is_a_validation_problem() -> None:
    with pytest.raises(WorkflowValidationError, match="nested too deeply"):
        Workflow.from_json('{"name": ' + "[" * 100_000 + "]" * 100_000 + "}")


def test_node_and_edge_caps_are_problems_found_before_parsing() -> None:
    nodes = [{"id": f"n{i}", "type": "template", "config": {"template": "x"}} for i in range(6)]
    edges = [{"source": f"n{i}", "target": f"n{i + 1}"} for i in range(5)]
    with pytest.raises(WorkflowValidationError) as refused:
        Workflow.from_dict({"nodes": nodes, "edges": edges}, limits=DocumentLimits(max_nodes=5, max_edges=4))
    assert [(p.path, p.code) for p in refused.value.problems] == [
        ("nodes", "too_many"),
        ("edges", "too_many"),
    ]
    assert "at most 5 nodes; this one has 6" in str(refused.value)
