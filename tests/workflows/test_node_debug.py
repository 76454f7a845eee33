"""Running one node alone: the smaller workflow, what is restored, what the node reads, and a real run of it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflows._helpers import end, events_of, start, template, wf
from tests.workflows.test_executor import branching_workflow
from workflows import Executor, NodeRecord, WorkflowValidationError, inspect_workflow, node_debug_plan
from workflows.testing import InMemoryRunStore


def chain() -> Any:
    return wf(
        [
            start(),
            template("a", "{{ start.name }}!"),
            template("b", "Hello {{ a.output }} and {{ start.name }}"),
            template("c", "never {{ b.output }}"),
            end({"greeting": "c.output"}),
        ],
        ["start->a", "a->b", "b->c", "c->end"],
        inputs=[{"name": "name"}, {"name": "extra"}],
    )


async def run_plan(
    workflow: Any, node_id: str, values: dict[str, dict[str, Any]], inputs: dict[str, Any]
) -> Any:
    """Run the plan the way the platform does: upstream nodes checkpointed with the entered values."""
    plan = node_debug_plan(workflow, node_id)
    store = InMemoryRunStore()
    for nid, branch in plan.restore.items():
        await store.checkpoint("r", NodeRecord(nid, "succeeded", outputs=values.get(nid, {}), branch=branch))
    return await Executor(plan.workflow, store=store).run_to_completion("r", inputs)


def test_the_plan_keeps_the_node_and_what_is_upstream_and_drops_what_is_downstream() -> None:
    plan = node_debug_plan(chain(), "b")
    ids = [n.id for n in plan.workflow.nodes]
    assert ids == ["start", "a", "b", "debug_end"]
    assert plan.restore == {"a": "source"}  # the start node is not restored: it takes the run's inputs
    assert plan.references == {"a": ["output"], "start": ["name"]}
    assert all(not field.required for field in plan.workflow.inputs)  # inputs it does not read are optional
    assert plan.workflow.outputs == []


async def test_the_node_runs_alone_on_entered_values_and_nothing_downstream_runs() -> None:
    result = await run_plan(chain(), "b", {"a": {"output": "typed by hand"}}, {"name": "Ada"})
    assert result.status == "succeeded"
    assert result.outputs == {"output": "Hello typed by hand and Ada"}
    started = [e.node_id for e in events_of(result.events, "node_started")]
    assert started == ["start", "b", "debug_end"]  # a was restored, c never ran
    assert [e.node_id for e in events_of(result.events, "node_restored")] == ["a"]


async def test_an_upstream_branch_is_restored_on_the_handle_that_leads_to_the_node() -> None:
    workflow = wf(
        branching_workflow()["nodes"],
        ["start->check", "check:big->yes", "check:else->no", "yes->join", "no->join", "join->end"],
        inputs=branching_workflow()["inputs"],
    )
    plan = node_debug_plan(workflow, "yes")
    assert plan.restore == {"check": "big"}
    assert plan.references == {"start": ["n"]}
    # n=3 would take the else branch; the restored branch leads to the node under test, so it runs
    result = await run_plan(workflow, "yes", {}, {"n": 3})
    assert result.status == "succeeded" and result.outputs == {"output": "big 3"}


async def test_a_branching_node_alone_ends_on_every_handle() -> None:
    workflow = wf(
        branching_workflow()["nodes"],
        ["start->check", "check:big->yes", "check:else->no", "yes->join", "no->join", "join->end"],
        inputs=branching_workflow()["inputs"],
    )
    result = await run_plan(workflow, "check", {}, {"n": 42})
    assert result.status == "succeeded"
    finished = [e for e in events_of(result.events, "node_finished") if e.node_id == "check"]
    assert finished and finished[0].branch == "big"


async def test_an_end_node_alone_is_its_own_end() -> None:
    plan = node_debug_plan(chain(), "end")
    assert [n.id for n in plan.workflow.nodes] == ["start", "a", "b", "c", "end"]
    result = await run_plan(chain(), "end", {"c": {"output": "entered"}}, {})
    assert result.outputs == {"greeting": "entered"}


async def test_a_container_runs_with_its_body() -> None:
    workflow = wf(
        [
            start(),
            {
                "id": "each",
                "type": "iteration",
                "config": {"items": "start.items", "output_selector": "body.output"},
            },
            template("body", "<{{ each.item }}>", parent="each"),
            end({"out": "each.output"}),
        ],
        ["start->each", "each->end"],
        inputs=[{"name": "items", "type": "json"}],
    )
    plan = node_debug_plan(workflow, "each")
    assert {n.id for n in plan.workflow.nodes} == {"start", "each", "body", "debug_end"}
    assert plan.references == {"start": ["items"]}
    result = await run_plan(workflow, "each", {}, {"items": [1, 2]})
    assert result.outputs["output"] == ["<1>", "<2>"]


def test_a_node_inside_a_container_is_refused_with_the_container_named() -> None:
    workflow = wf(
        [
            start(),
            {
                "id": "each",
                "type": "iteration",
                "config": {"items": "start.items", "output_selector": "body.output"},
            },
            template("body", "<{{ each.item }}>", parent="each"),
            end({"out": "each.output"}),
        ],
        ["start->each", "each->end"],
        inputs=[{"name": "items", "type": "json"}],
    )
    with pytest.raises(WorkflowValidationError) as caught:
        node_debug_plan(workflow, "body")
    assert caught.value.problems[0].path == "node" and "run the container" in caught.value.problems[0].message


@pytest.mark.parametrize("node_id", ["nope", ""])
def test_an_unknown_node_is_refused(node_id: str) -> None:
    with pytest.raises(WorkflowValidationError) as caught:
        node_debug_plan(chain(), node_id)
    assert caught.value.problems[0].path == "node"


def test_an_invalid_workflow_reports_its_own_problems() -> None:
    broken = wf([start(), template("a", "{{ missing.output }}"), end()], ["start->a", "a->end"])
    with pytest.raises(WorkflowValidationError) as caught:
        node_debug_plan(broken, "a")
    assert caught.value.problems[0].node_id == "a"


def test_the_end_node_id_does_not_collide_with_an_existing_node() -> None:
    workflow = wf(
        [start(), template("debug_end", "x"), template("b", "{{ debug_end.output }}"), end()],
        ["start->debug_end", "debug_end->b", "b->end"],
    )
    plan = node_debug_plan(workflow, "b")
    assert [n.id for n in plan.workflow.nodes][-1] == "debug_end_2"


def test_the_inspection_of_a_node_names_what_it_reads_upstream() -> None:
    assert inspect_workflow(chain(), "b").reads == {"a": ["output"], "start": ["name"]}
    assert inspect_workflow(chain(), None).reads is None
