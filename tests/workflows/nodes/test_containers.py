"""iteration and loop containers: bodies, parallelism, error modes, progress events, limits."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflows._helpers import end, events_of, probe, start, template, wf
from workflows import Executor, RunLimits


def iteration(**config: Any) -> dict[str, Any]:
    return {
        "id": "each",
        "type": "iteration",
        "config": {"items": "start.items", "output_selector": "body.output", **config},
    }


def iteration_workflow(body: dict[str, Any], **config: Any) -> Any:
    body = {**body, "id": "body", "parent": "each"}
    return wf(
        [start(), iteration(**config), body, end({"out": "each.output", "failed": "each.failed"})],
        ["start->each", "each->end"],
        inputs=[{"name": "items", "type": "json"}],
    )


@pytest.mark.parametrize("parallel", [False, True])
async def test_iteration_maps_the_body_over_items_in_order(parallel: bool) -> None:
    workflow = iteration_workflow(
        template("body", "{{ each.index }}:{{ each.item.name | upper }}"), parallel=parallel
    )
    result = await Executor(workflow).run_to_completion(
        "it", {"items": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}
    )
    assert result.outputs == {"out": ["0:A", "1:B", "2:C"], "failed": 0}
    progress = events_of(result.events, "iteration_progress")
    assert sorted(p.index for p in progress) == [0, 1, 2] and progress[-1].completed == 3
    inner = [e for e in events_of(result.events, "node_started") if e.node_id == "body"]
    assert sorted(e.index for e in inner) == [0, 1, 2] and {e.parent_id for e in inner} == {"each"}


async def test_parallel_iteration_respects_the_concurrency_limit() -> None:
    workflow = iteration_workflow(
        probe("body", sleep=0.05, value="x"), parallel=True, max_parallel=4, output_selector="body.value"
    )
    result = await Executor(workflow).run_to_completion("par", {"items": list(range(8))})
    assert result.outputs["out"] == ["x"] * 8
    assert 90 <= result.elapsed_ms < 350  # two waves of four, not eight in a row


@pytest.mark.parametrize(
    ("mode", "status", "out"),
    [
        ("terminate", "failed", None),
        ("continue", "succeeded", ["ok 1", None, "ok 3"]),
        ("remove_failed", "succeeded", ["ok 1", "ok 3"]),
    ],
)
async def test_iteration_error_modes(mode: str, status: str, out: list[Any] | None) -> None:
    # item 2 divides by zero
    workflow = iteration_workflow(
        template("body", "ok {{ 2 // (each.item - 2) * 0 + each.item }}"), error_mode=mode
    )
    result = await Executor(workflow).run_to_completion(f"err-{mode}", {"items": [1, 2, 3]})
    assert result.status == status
    if out is not None:
        assert result.outputs["out"] == out
    else:
        error = result.nodes["each"].error
        assert error is not None and "item 1 failed" in error["message"]


async def test_iteration_over_a_non_list_fails_the_node() -> None:
    result = await Executor(iteration_workflow(template("body", "x"))).run_to_completion(
        "nl", {"items": {"a": 1}}
    )
    error = result.nodes["each"].error
    assert result.status == "failed" and error is not None and "needs a list" in error["message"]


async def test_body_steps_count_towards_the_run_step_limit() -> None:
    workflow = iteration_workflow(template("body", "x"))
    result = await Executor(workflow, limits=RunLimits(max_steps=10)).run_to_completion(
        "lim", {"items": list(range(50))}
    )
    assert result.status == "failed" and result.error is not None
    assert result.error["type"] == "StepLimitExceeded"


def loop_workflow(**config: Any) -> Any:
    loop = {
        "id": "repeat",
        "type": "loop",
        "config": {
            "max_count": 10,
            "variables": [{"name": "total", "value": 0, "update": "add.output"}],
            **config,
        },
    }
    body = template("add", "{{ repeat.total | int + repeat.index + 1 }}", parent="repeat")
    return wf(
        [start(), loop, body, end({"total": "repeat.total", "rounds": "repeat.rounds"})],
        ["start->repeat", "repeat->end"],
    )


async def test_loop_runs_until_its_break_condition_holds() -> None:
    workflow = loop_workflow(break_conditions=[{"selector": "add.output", "operator": ">=", "value": 10}])
    result = await Executor(workflow).run_to_completion("loop")
    # totals: 1, 3, 6, 10 -> stops after round 4
    assert result.outputs == {"total": "10", "rounds": 4}
    assert [p.index for p in events_of(result.events, "loop_progress")] == [0, 1, 2, 3]


async def test_loop_stops_at_max_count() -> None:
    result = await Executor(loop_workflow(max_count=3)).run_to_completion("loop-max")
    assert result.outputs == {"total": "6", "rounds": 3}


async def test_loop_break_condition_may_read_its_own_variables() -> None:
    workflow = loop_workflow(break_conditions=[{"selector": "repeat.index", "operator": "=", "value": 1}])
    result = await Executor(workflow).run_to_completion("loop-self")
    assert result.outputs["rounds"] == 2


def test_loop_break_condition_naming_an_unknown_variable_is_invalid() -> None:
    from workflows import validate_workflow

    workflow = loop_workflow(break_conditions=[{"selector": "repeat.nope", "operator": "empty"}])
    assert [p.code for p in validate_workflow(workflow)] == ["unresolved_reference"]
