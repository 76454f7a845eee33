"""Resuming iteration and loop containers item by item / round by round from their body records."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflows._helpers import (
    FINISHED,
    STARTED,
    end,
    events_of,
    interrupt,
    start,
    tally,
    template,
    wf,
)
from workflows import Executor, NodeRecord, Usage
from workflows._bodies import body_record_id
from workflows._ports import BODY_RECORD_ID_MAX
from workflows.testing import InMemoryRunStore

ITEMS = list(range(8))
EXPECTED = [f"<{i}>" for i in ITEMS]


def iteration_workflow(*, parallel: bool = False, error_mode: str = "terminate", **body: Any) -> Any:
    each = {
        "id": "each",
        "type": "iteration",
        "config": {
            "items": "start.items",
            "output_selector": "body.value",
            "parallel": parallel,
            "max_parallel": 3,
            "error_mode": error_mode,
        },
    }
    return wf(
        [start(), each, tally("body", "each.item", parent="each", **body), end({"out": "each.output"})],
        ["start->each", "each->end"],
        inputs=[{"name": "items", "type": "json"}],
    )


def body_started(events: list[Any], node_id: str = "body") -> list[int]:
    return [e.index for e in events_of(events, "node_started") if e.node_id == node_id]


def restored_ids(events: list[Any]) -> list[str]:
    return [e.node_id for e in events_of(events, "node_restored")]


def calls(run_id: str, items: list[Any]) -> tuple[list[int], list[int]]:
    """How often each item's body started, and finished."""
    return [STARTED[f"{run_id}/{i}"] for i in items], [FINISHED[f"{run_id}/{i}"] for i in items]


@pytest.mark.parametrize("how", ["crash", "cancel"])
async def test_an_interrupted_iteration_resumes_with_the_items_it_had_not_finished(
    how: str, store: InMemoryRunStore
) -> None:
    # given a run interrupted while its body ran item 5 of 8
    run_id = f"it-{how}"
    workflow = iteration_workflow(hang_on=[5], tokens=2)
    await interrupt(
        Executor(workflow, store=store),
        run_id,
        {"items": ITEMS},
        lambda e: e.type == "node_started" and e.node_id == "body" and e.index == 5,
        how,
    )
    # when a new executor resumes it
    result = await Executor(workflow, store=store).run_to_completion(run_id, {"items": ITEMS})
    # then items 0-4 are restored, only 5-7 run, and the outputs are those of an uninterrupted run
    assert result.status == "succeeded" and result.outputs == {"out": EXPECTED}
    assert restored_ids(result.events) == ["start", *(f"each#{i}" for i in range(5))]
    assert body_started(result.events) == [5, 6, 7]
    assert calls(run_id, ITEMS) == ([1, 1, 1, 1, 1, 2, 1, 1], [1] * 8)
    restored = [e for e in events_of(result.events, "node_restored") if e.node_id.startswith("each#")]
    assert [(e.parent_id, e.index, e.outputs) for e in restored] == [
        ("each", i, {"output": f"<{i}>"}) for i in range(5)
    ]
    progress = events_of(result.events, "iteration_progress")
    assert [p.index for p in progress] == ITEMS and progress[-1].completed == 8
    assert result.usage == Usage(16, 16)  # restored items count, as they did in the interrupted run


async def test_a_parallel_iteration_resumes_with_exactly_the_items_in_flight(store: InMemoryRunStore) -> None:
    # given a parallel run that died with items 2 and 5 running and every other item finished
    run_id = "it-parallel"
    workflow = iteration_workflow(parallel=True, hang_on=[2, 5])
    await interrupt(
        Executor(workflow, store=store),
        run_id,
        {"items": ITEMS},
        lambda e: e.type == "iteration_progress" and e.completed == 6,
        "crash",
    )
    # when
    result = await Executor(workflow, store=store).run_to_completion(run_id, {"items": ITEMS})
    # then
    assert result.outputs == {"out": EXPECTED}
    assert sorted(body_started(result.events)) == [2, 5]
    assert sorted(restored_ids(result.events)) == sorted(
        ["start", *(f"each#{i}" for i in ITEMS if i not in (2, 5))]
    )
    assert calls(run_id, ITEMS)[1] == [1] * 8


def loop_workflow(**body: Any) -> Any:
    loop = {
        "id": "rounds",
        "type": "loop",
        "config": {
            "max_count": 10,
            "variables": [{"name": "acc", "value": "", "update": "join.output"}],
            "break_conditions": [{"selector": "body.value", "operator": "=", "value": "<5>"}],
        },
    }
    return wf(
        [
            start(),
            loop,
            tally("body", "rounds.index", parent="rounds", **body),
            template("join", "{{ rounds.acc }}{{ body.value }}", parent="rounds"),
            end({"acc": "rounds.acc", "rounds": "rounds.rounds"}),
        ],
        ["start->rounds", "rounds->end", "body->join"],
    )


LOOP_OUTPUTS = {"acc": "<0><1><2><3><4><5>", "rounds": 6}


@pytest.mark.parametrize("how", ["crash", "cancel"])
async def test_an_interrupted_loop_resumes_at_the_round_it_had_not_finished(
    how: str, store: InMemoryRunStore
) -> None:
    # given a run interrupted during round 3
    run_id = f"loop-{how}"
    workflow = loop_workflow(hang_on=[3])
    await interrupt(
        Executor(workflow, store=store),
        run_id,
        {},
        lambda e: e.type == "node_started" and e.node_id == "body" and e.index == 3,
        how,
    )
    # when
    result = await Executor(workflow, store=store).run_to_completion(run_id)
    # then rounds 0-2 come from their records (the variables they left), 3-5 run, and the loop breaks as before
    assert result.status == "succeeded" and result.outputs == LOOP_OUTPUTS
    assert restored_ids(result.events) == ["start", "rounds#0", "rounds#1", "rounds#2"]
    assert body_started(result.events) == [3, 4, 5]
    assert calls(run_id, list(range(6))) == ([1, 1, 1, 2, 1, 1], [1] * 6)
    assert [p.index for p in events_of(result.events, "loop_progress")] == [0, 1, 2, 3, 4, 5]
    third = next(e for e in events_of(result.events, "node_restored") if e.node_id == "rounds#2")
    assert third.outputs == {"variables": {"acc": "<0><1><2>"}, "break": False}


async def test_a_loop_whose_rounds_all_finished_stops_where_it_broke(store: InMemoryRunStore) -> None:
    # given a finished run whose loop checkpoint (and what follows) was lost
    workflow = loop_workflow()
    await Executor(workflow, store=store).run_to_completion("loop-all")
    store.forget("loop-all", "rounds")
    store.forget("loop-all", "end")
    # when
    result = await Executor(workflow, store=store).run_to_completion("loop-all")
    # then every round is restored, the loop breaks after round 5 again, and no body runs
    assert result.outputs == LOOP_OUTPUTS
    assert body_started(result.events) == []
    assert calls("loop-all", list(range(7)))[0] == [1, 1, 1, 1, 1, 1, 0]


async def test_a_nested_iteration_resumes_at_the_inner_item(store: InMemoryRunStore) -> None:
    # given an iteration over groups whose inner iteration died on b2
    groups = [["a1", "a2", "a3"], ["b1", "b2", "b3"], ["c1", "c2", "c3"]]
    run_id = "nested"
    outer = {
        "id": "outer",
        "type": "iteration",
        "config": {"items": "start.groups", "output_selector": "inner.output"},
    }
    inner = {
        "id": "inner",
        "type": "iteration",
        "parent": "outer",
        "config": {"items": "outer.item", "output_selector": "body.value"},
    }
    workflow = wf(
        [
            start(),
            outer,
            inner,
            tally("body", "inner.item", parent="inner", hang_on=["b2"]),
            end({"out": "outer.output"}),
        ],
        ["start->outer", "outer->end"],
        inputs=[{"name": "groups", "type": "json"}],
    )
    await interrupt(
        Executor(workflow, store=store),
        run_id,
        {"groups": groups},
        lambda e: STARTED[f"{run_id}/b2"] == 1,
        "crash",
    )
    # when
    result = await Executor(workflow, store=store).run_to_completion(run_id, {"groups": groups})
    # then the finished group and the finished item of the unfinished group are restored
    assert result.outputs == {"out": [[f"<{i}>" for i in group] for group in groups]}
    assert restored_ids(result.events) == ["start", "outer#0", "outer#1/inner#0"]
    items = [i for group in groups for i in group]
    assert calls(run_id, items) == ([1, 1, 1, 1, 2, 1, 1, 1, 1], [1] * 9)
    records = {r.node_id: r for r in await store.load(run_id)}
    assert records["outer#1/inner#0"].node_type == "iteration_item"
    assert records["outer#1"].outputs["output"] == ["<b1>", "<b2>", "<b3>"]


async def test_an_item_whose_input_changed_runs_again(store: InMemoryRunStore) -> None:
    # given a finished run whose start node (with the items) and iteration checkpoints were lost
    workflow = iteration_workflow()
    await Executor(workflow, store=store).run_to_completion("changed", {"items": [1, 2, 3]})
    for node_id in ("start", "each", "end"):
        store.forget("changed", node_id)
    # when it resumes with another list: item 1 differs
    result = await Executor(workflow, store=store).run_to_completion("changed", {"items": [1, 9, 3]})
    # then records of unchanged items are restored, the changed item runs
    assert result.outputs == {"out": ["<1>", "<9>", "<3>"]}
    assert restored_ids(result.events) == ["each#0", "each#2"]
    assert body_started(result.events) == [1]


async def test_failed_items_of_a_continuing_iteration_are_restored_as_failed(store: InMemoryRunStore) -> None:
    # given a run that died at item 4, after item 2 had failed (the iteration carried on)
    workflow = iteration_workflow(error_mode="continue", fail_on=[2], hang_on=[4])
    await interrupt(
        Executor(workflow, store=store),
        "continued",
        {"items": ITEMS},
        lambda e: e.type == "node_started" and e.node_id == "body" and e.index == 4,
        "crash",
    )
    # when
    result = await Executor(workflow, store=store).run_to_completion("continued", {"items": ITEMS})
    # then item 2 keeps its failure (its next call would have succeeded: it is not made)
    assert result.outputs == {"out": ["<0>", "<1>", None, "<3>", "<4>", "<5>", "<6>", "<7>"]}
    assert body_started(result.events) == [4, 5, 6, 7]
    assert (
        next(e for e in events_of(result.events, "node_restored") if e.node_id == "each#2").status == "failed"
    )


async def test_the_item_that_failed_a_terminating_iteration_runs_again(store: InMemoryRunStore) -> None:
    # given a run that failed because item 2 failed
    workflow = iteration_workflow(fail_on=[2])
    failed = await Executor(workflow, store=store).run_to_completion("terminated", {"items": ITEMS})
    assert failed.status == "failed"
    assert {r.node_id: r.status for r in await store.load("terminated")} == {
        "start": "succeeded",
        "each#0": "succeeded",
        "each#1": "succeeded",
        "each#2": "failed",
        "each": "failed",
    }
    # when
    result = await Executor(workflow, store=store).run_to_completion("terminated", {"items": ITEMS})
    # then
    assert result.status == "succeeded" and result.outputs == {"out": EXPECTED}
    assert body_started(result.events) == [2, 3, 4, 5, 6, 7]


async def test_handled_failures_and_usage_of_restored_items_still_count(store: InMemoryRunStore) -> None:
    # given a body whose node fails on item 1 with a default value (a handled failure: the run is partial)
    workflow = iteration_workflow(
        fail_on=[1], hang_on=[5], tokens=3, error_strategy="default_value", default_outputs={"value": "-"}
    )
    await interrupt(
        Executor(workflow, store=store),
        "partial",
        {"items": ITEMS},
        lambda e: e.type == "node_started" and e.node_id == "body" and e.index == 5,
        "crash",
    )
    # when
    result = await Executor(workflow, store=store).run_to_completion("partial", {"items": ITEMS})
    # then
    assert result.status == "partial_succeeded"
    assert result.outputs["out"][:3] == ["<0>", "-", "<2>"]
    assert result.usage == Usage(21, 21)  # seven items that succeeded, restored or not


async def test_a_container_restored_as_a_whole_still_counts_its_bodies_usage(store: InMemoryRunStore) -> None:
    workflow = iteration_workflow(tokens=2)
    first = await Executor(workflow, store=store).run_to_completion("whole", {"items": ITEMS})
    store.forget("whole", "end")
    result = await Executor(workflow, store=store).run_to_completion("whole", {"items": ITEMS})
    assert restored_ids(result.events) == ["start", "each"]
    assert result.usage == first.usage == Usage(16, 16)


async def test_body_records_are_told_apart_from_nodes(store: InMemoryRunStore) -> None:
    result = await Executor(iteration_workflow(), store=store).run_to_completion("apart", {"items": [1, 2]})
    records = await store.load("apart")
    assert [(r.node_id, r.node_type, r.is_body_run) for r in records] == [
        ("start", "start", False),
        ("each#0", "iteration_item", True),
        ("each#1", "iteration_item", True),
        ("each", "iteration", False),
        ("end", "end", False),
    ]
    assert set(result.nodes) == {"start", "each", "end"}
    assert records[1].outputs["output"] == "<1>" and len(records[1].outputs["input_digest"]) == 16


async def test_a_body_of_pure_nodes_is_not_checkpointed_item_by_item(store: InMemoryRunStore) -> None:
    # given an iteration whose body only renders a template (running it again is free and gives the same)
    workflow = wf(
        [
            start(),
            {
                "id": "each",
                "type": "iteration",
                "config": {"items": "start.items", "output_selector": "t.output"},
            },
            template("t", "{{ each.item * 2 }}", parent="each"),
            end({"out": "each.output"}),
        ],
        ["start->each", "each->end"],
        inputs=[{"name": "items", "type": "json"}],
    )
    result = await Executor(workflow, store=store).run_to_completion("pure", {"items": [1, 2, 3]})
    assert result.outputs == {"out": ["2", "4", "6"]}
    assert [r.node_id for r in await store.load("pure")] == ["start", "each", "end"]


async def test_a_failing_body_checkpoint_fails_the_run() -> None:
    class BrokenStore(InMemoryRunStore):
        async def checkpoint(self, run_id: str, record: NodeRecord) -> None:
            if record.is_body_run:
                raise ConnectionError("database is gone")
            await super().checkpoint(run_id, record)

    result = await Executor(iteration_workflow(), store=BrokenStore()).run_to_completion(
        "broken", {"items": [1]}
    )
    assert result.status == "failed"
    assert result.error is not None and "checkpoint failed: database is gone" in result.error["message"]


def test_body_record_ids_name_the_path_and_stay_short() -> None:
    assert body_record_id("", "each", 3) == "each#3"
    assert body_record_id("outer#2", "inner", 5) == "outer#2/inner#5"
    long_path = body_record_id(body_record_id("", "o" * 64, 999), "i" * 64, 12)
    assert len(long_path) <= BODY_RECORD_ID_MAX and long_path.startswith("i" * 64 + "#12@")
    assert long_path != body_record_id(body_record_id("", "o" * 64, 998), "i" * 64, 12)
