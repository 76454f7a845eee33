"""Validation reports every problem at once, each with node id and path."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflows._helpers import edge, end, start, template, wf
from workflows import Workflow, WorkflowValidationError, compile_workflow, validate_workflow


def problems(
    nodes: list[dict[str, Any]], edges: list[str], **fields: Any
) -> set[tuple[str, str | None, str]]:
    return {(p.code, p.node_id, p.path) for p in validate_workflow(wf(nodes, edges, **fields))}


def test_a_valid_workflow_compiles() -> None:
    graph = compile_workflow(
        wf(
            [start(), template("t", "{{ start.q }}"), end({"o": "t.output"})],
            ["start->t", "t->end"],
            inputs=[{"name": "q"}],
        )
    )
    assert list(graph.nodes) == ["start", "t", "end"]
    assert graph.scopes[None].node_ids == ["start", "t", "end"]


CASES = {
    "duplicate id": (
        [start(), template("t", "x"), template("t", "y"), end()],
        ["start->t", "t->end"],
        ("duplicate_id", "t", "nodes.2.id"),
    ),
    "reserved id": (
        [start(), template("sys", "x"), end()],
        ["start->sys", "sys->end"],
        ("reserved_id", "sys", "nodes.1.id"),
    ),
    "unknown type": (
        [start(), {"id": "x", "type": "teleport"}, end()],
        ["start->end"],
        ("unknown_type", "x", "nodes.1.type"),
    ),
    "bad config": (
        [start(), {"id": "t", "type": "template", "config": {}}, end()],
        ["start->end"],
        ("missing", "t", "nodes.1.config.template"),
    ),
    "unknown config key": (
        [start(), {"id": "t", "type": "template", "config": {"template": "x", "tmpl": 1}}, end()],
        ["start->t", "t->end"],
        ("extra_forbidden", "t", "nodes.1.config.tmpl"),
    ),
    "template syntax": (
        [start(), template("t", "{{ oops"), end()],
        ["start->t", "t->end"],
        ("value_error", "t", "nodes.1.config.template"),
    ),
    "edge to missing node": (
        [start(), end()],
        ["start->end", "start->ghost"],
        ("unknown_node", None, "edges.1.target"),
    ),
    "unknown handle": (
        [start(), end()],
        ["start:yes->end"],
        ("unknown_handle", "start", "edges.0.source_handle"),
    ),
    "self loop": (
        [start(), template("t", "x"), end()],
        ["start->t", "t->t", "t->end"],
        ("self_loop", "t", "edges.1"),
    ),
    "duplicate edge": (
        [start(), end()],
        ["start->end", "start->end"],
        ("duplicate_edge", "start", "edges.1"),
    ),
    "no start": ([template("t", "x"), end()], ["t->end"], ("start_count", None, "nodes")),
    "two starts": (
        [start(), {"id": "s2", "type": "start"}, end()],
        ["start->end", "s2->end"],
        ("start_count", None, "nodes"),
    ),
    "no end": ([start(), template("t", "x")], ["start->t"], ("no_end", None, "nodes")),
    "unreachable": (
        [start(), template("t", "x"), end()],
        ["start->end", "t->end"],
        ("unreachable", "t", "nodes.1"),
    ),
    "cycle": (
        [start(), template("a", "x"), template("b", "y"), end()],
        ["start->a", "a->b", "b->a", "b->end"],
        ("cycle", "a", "edges"),
    ),
    "unknown upstream node": (
        [start(), template("t", "{{ ghost.output }}"), end()],
        ["start->t", "t->end"],
        ("unresolved_reference", "t", "nodes.1.config.template"),
    ),
    "downstream reference": (
        [start(), template("a", "{{ b.output }}"), template("b", "x"), end()],
        ["start->a", "a->b", "b->end"],
        ("unresolved_reference", "a", "nodes.1.config.template"),
    ),
    "unknown output": (
        [start(), template("a", "x"), template("b", "{{ a.text }}"), end()],
        ["start->a", "a->b", "b->end"],
        ("unresolved_reference", "b", "nodes.2.config.template"),
    ),
    "unknown env var": (
        [start(), template("t", "{{ env.NOPE }}"), end()],
        ["start->t", "t->end"],
        ("unresolved_reference", "t", "nodes.1.config.template"),
    ),
    "unknown sys var": (
        [start(), template("t", "{{ sys.nope }}"), end()],
        ["start->t", "t->end"],
        ("unresolved_reference", "t", "nodes.1.config.template"),
    ),
    "selector to a parallel branch": (
        [start(), template("a", "x"), template("b", "y"), end({"o": "a.output"}, "end")],
        ["start->a", "start->b", "b->end"],
        ("unresolved_reference", "end", "nodes.3.config.outputs.o"),
    ),
    "fail_branch without fail edge": (
        [start(), template("t", "x", error_strategy="fail_branch"), end()],
        ["start->t", "t->end"],
        ("missing_fail_edge", "t", "nodes.1.error_strategy"),
    ),
    "fail edge without fail_branch": (
        [start(), template("t", "x"), end()],
        ["start->t", "t:fail->end"],
        ("unknown_handle", "t", "edges.1.source_handle"),
    ),
    "edge out of an end node": (
        [start(), end(), template("t", "x")],
        ["start->end", "end->t"],
        ("unknown_handle", "end", "edges.1.source_handle"),
    ),
    "edge across a container": (
        [
            start(),
            {
                "id": "each",
                "type": "iteration",
                "config": {"items": "start.xs", "output_selector": "b.output"},
            },
            template("b", "x", parent="each"),
            end(),
        ],
        ["start->each", "each->end", "start->b"],
        ("cross_scope_edge", "start", "edges.2"),
    ),
    "empty container": (
        [
            start(),
            {
                "id": "each",
                "type": "iteration",
                "config": {"items": "start.xs", "output_selector": "b.output"},
            },
            end(),
        ],
        ["start->each", "each->end"],
        ("empty_container", "each", "nodes"),
    ),
    "parent is not a container": (
        [start(), template("a", "x"), template("b", "y", parent="a"), end()],
        ["start->a", "a->end"],
        ("invalid_parent", "b", "nodes.2.parent"),
    ),
}


@pytest.mark.parametrize(("nodes", "edges", "expected"), CASES.values(), ids=CASES.keys())
def test_each_rule_reports_node_id_and_path(
    nodes: list[dict[str, Any]], edges: list[str], expected: tuple[str, str | None, str]
) -> None:
    found = problems(nodes, edges, inputs=[{"name": "xs", "type": "json"}])
    assert expected in found, found


def test_every_problem_is_reported_in_one_error() -> None:
    # given a workflow with four unrelated problems
    workflow = wf(
        [
            start(),
            template("a", "{{ ghost.x }}"),
            template("a", "dup"),
            {"id": "c", "type": "if_else", "config": {}},
        ],
        ["start->a", "a->missing"],
    )
    # when
    with pytest.raises(WorkflowValidationError) as caught:
        compile_workflow(workflow)
    # then
    codes = {p.code for p in caught.value.problems}
    assert {"duplicate_id", "unknown_node", "missing", "unresolved_reference", "no_end"} <= codes
    assert "4 problem" not in str(caught.value) and "problem(s)" in str(caught.value)
    assert all(p.to_dict()["path"] for p in caught.value.problems)


def test_nodes_inside_a_container_may_read_the_item_and_outer_upstream_nodes() -> None:
    workflow = wf(
        [
            start(),
            template("pre", "x"),
            {
                "id": "each",
                "type": "iteration",
                "config": {"items": "start.xs", "output_selector": "b.output"},
            },
            template("a", "{{ each.item }} {{ each.index }} {{ pre.output }} {{ start.xs }}", parent="each"),
            template("b", "{{ a.output }}", parent="each"),
            end({"o": "each.output"}),
        ],
        ["start->pre", "pre->each", "each->end", "a->b"],
        inputs=[{"name": "xs", "type": "json"}],
    )
    assert validate_workflow(workflow) == []


def test_outside_nodes_cannot_read_body_nodes() -> None:
    workflow = wf(
        [
            start(),
            {
                "id": "each",
                "type": "iteration",
                "config": {"items": "start.xs", "output_selector": "b.output"},
            },
            template("b", "{{ each.nothing }}", parent="each"),
            end({"o": "b.output"}),
        ],
        ["start->each", "each->end"],
        inputs=[{"name": "xs", "type": "json"}],
    )
    found = {(p.node_id, p.path) for p in validate_workflow(workflow)}
    assert ("end", "nodes.3.config.outputs.o") in found
    assert ("b", "nodes.2.config.template") in found


def test_validate_accepts_yaml_text() -> None:
    text = wf([start(), end()], ["start->end"]).to_yaml()
    assert validate_workflow(text) == []
    assert isinstance(Workflow.from_yaml(text), Workflow)
    assert edge("a:b->c") == {"source": "a", "target": "c", "source_handle": "b"}
