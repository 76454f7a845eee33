"""variable_assigner: each operation on conversation variables, type errors, reads in the same run, the final
state on the run result and record, ``sys.dialogue_count``, validation at publish time and resume."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflows._helpers import end, failure, start, wf
from workflows import Executor, Workflow, WorkflowValidationError, compile_workflow
from workflows.testing import InMemoryRunStore

VARIABLES = [
    {"name": "name", "type": "string", "default": "anon"},
    {"name": "count", "type": "number", "default": 10},
    {"name": "flag", "type": "boolean", "default": True},
    {"name": "profile", "type": "object", "default": {"a": 1}},
    {"name": "tags", "type": "array[string]", "default": ["x", "y"]},
    {"name": "nums", "type": "array[number]", "default": [1, 2]},
    {"name": "items", "type": "array", "default": []},
]


def assigner_flow(items: list[dict[str, Any]], outputs: dict[str, str] | None = None) -> Workflow:
    """start -> assign(items) -> end; the end node reads the conversation after the write."""
    return wf(
        [
            start(),
            {"id": "assign", "type": "variable_assigner", "config": {"items": items}},
            end(outputs or {"state": "conversation"}),
        ],
        ["start->assign", "assign->end"],
        mode="chat",
        conversation_variables=VARIABLES,
        inputs=[{"name": "text", "required": False}, {"name": "n", "type": "number", "required": False}],
    )  # fmt: skip


async def run(items: list[dict[str, Any]], inputs: dict[str, Any] | None = None, **options: Any) -> Any:
    return await Executor(assigner_flow(items)).run_to_completion("r1", inputs or {}, **options)


@pytest.mark.parametrize(
    ("item", "inputs", "name", "expected"),
    [
        ({"variable": "name", "operation": "overwrite", "value": "{{ start.text }}"}, {"text": "ann"}, "name", "ann"),
        ({"variable": "conversation.name", "operation": "overwrite", "value": "hi {{ start.text }}"},
         {"text": "bo"}, "name", "hi bo"),
        ({"variable": "count", "operation": "overwrite", "value": "{{ start.n }}"}, {"n": 3}, "count", 3),
        ({"variable": "name", "operation": "set", "constant": "fixed"}, {}, "name", "fixed"),
        ({"variable": "profile", "operation": "set", "constant": {"b": 2}}, {}, "profile", {"b": 2}),
        ({"variable": "name", "operation": "clear"}, {}, "name", ""),
        ({"variable": "count", "operation": "clear"}, {}, "count", 0),
        ({"variable": "flag", "operation": "clear"}, {}, "flag", False),
        ({"variable": "profile", "operation": "clear"}, {}, "profile", {}),
        ({"variable": "tags", "operation": "clear"}, {}, "tags", []),
        ({"variable": "tags", "operation": "append", "value": "{{ start.text }}"}, {"text": "z"}, "tags",
         ["x", "y", "z"]),
        ({"variable": "nums", "operation": "append", "constant": 3}, {}, "nums", [1, 2, 3]),
        ({"variable": "nums", "operation": "extend", "constant": [3, 4]}, {}, "nums", [1, 2, 3, 4]),
        ({"variable": "items", "operation": "append", "constant": {"k": 1}}, {}, "items", [{"k": 1}]),
        ({"variable": "tags", "operation": "remove_first"}, {}, "tags", ["y"]),
        ({"variable": "tags", "operation": "remove_last"}, {}, "tags", ["x"]),
        ({"variable": "items", "operation": "remove_last"}, {}, "items", []),
        ({"variable": "count", "operation": "add", "constant": 5}, {}, "count", 15),
        ({"variable": "count", "operation": "subtract", "value": "{{ start.n }}"}, {"n": 4}, "count", 6),
        ({"variable": "count", "operation": "multiply", "constant": 2.5}, {}, "count", 25.0),
        ({"variable": "count", "operation": "divide", "constant": 4}, {}, "count", 2.5),
    ],
)  # fmt: skip
async def test_each_operation_writes_the_conversation_variable(
    item: dict[str, Any], inputs: dict[str, Any], name: str, expected: Any
) -> None:
    result = await run([item], inputs)

    assert result.status == "succeeded", result.error
    assert result.conversation[name] == expected
    assert result.outputs["state"][name] == expected  # a later node reads the new value
    assert result.nodes["assign"].outputs == {"written": {name: expected}, "loop_values": {}}


async def test_items_apply_in_order_and_templates_downstream_see_the_new_values() -> None:
    flow = wf(
        [
            start(),
            {"id": "assign", "type": "variable_assigner", "config": {"items": [
                {"variable": "count", "operation": "add", "constant": 1},
                {"variable": "count", "operation": "multiply", "constant": 3},
                {"variable": "tags", "operation": "append", "value": "{{ conversation.count }}"},
            ]}},
            {"id": "t", "type": "template", "config": {"template": "{{ conversation.count }}|{{ conversation.tags }}"}},
            end({"out": "t.output"}),
        ],
        ["start->assign", "assign->t", "t->end"],
        mode="chat",
        conversation_variables=[{"name": "count", "type": "number", "default": 0},
                                {"name": "tags", "type": "array", "default": []}],
    )  # fmt: skip

    result = await Executor(flow).run_to_completion("r1", {}, conversation={"count": 1})

    assert result.outputs == {"out": "6|[6]"}
    assert result.conversation == {"count": 6, "tags": [6]}


async def test_stored_state_is_merged_with_defaults_and_undeclared_variables_are_dropped() -> None:
    result = await run(
        [{"variable": "count", "operation": "add", "constant": 1}],
        conversation={"count": 41, "gone": "old"},
    )

    assert result.conversation["count"] == 42
    assert result.conversation["name"] == "anon"  # missing from the stored state: its default
    assert "gone" not in result.conversation


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"variable": "count", "operation": "divide", "constant": 0}, "cannot divide 'count' (number): division by zero"),
        ({"variable": "count", "operation": "add", "value": "{{ start.text }}"}, "cannot add 'count' (number): the value must be a number"),
        ({"variable": "name", "operation": "overwrite", "constant": 3}, "cannot overwrite 'name' (string): expected a string, got int"),
        ({"variable": "nums", "operation": "append", "constant": "three"}, "cannot append 'nums' (array[number]): every item must be a number"),
        ({"variable": "tags", "operation": "extend", "constant": "abc"}, "cannot extend 'tags' (array[string]): extend needs a list"),
        ({"variable": "flag", "operation": "set", "constant": "yes"}, "cannot set 'flag' (boolean): expected a boolean"),
    ],
)  # fmt: skip
async def test_a_value_of_the_wrong_type_fails_the_node_naming_variable_and_operation(
    item: dict[str, Any], message: str
) -> None:
    result = await run([item], {"text": "abc"}, conversation={"count": 7})

    error = failure(result, "assign")
    assert error["type"] == "NodeError"
    assert message in error["message"]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"variable": "missing", "operation": "overwrite", "constant": 1}, "no conversation variable 'missing'"),
        ({"variable": "name", "operation": "append", "constant": "x"}, "append needs an array variable; 'name' is string"),
        ({"variable": "tags", "operation": "add", "constant": 1}, "add needs a number variable; 'tags' is array[string]"),
    ],
)  # fmt: skip
def test_publish_time_validation_catches_unknown_variables_and_impossible_operations(
    item: dict[str, Any], message: str
) -> None:
    with pytest.raises(WorkflowValidationError) as caught:
        compile_workflow(assigner_flow([item]))

    assert message in str(caught.value)


def test_an_operation_without_its_operand_is_a_config_error() -> None:
    with pytest.raises(WorkflowValidationError) as caught:
        compile_workflow(assigner_flow([{"variable": "count", "operation": "add"}]))

    assert "needs a value or a constant" in str(caught.value)


async def test_dialogue_count_is_a_system_variable() -> None:
    flow = wf(
        [start(), {"id": "t", "type": "template", "config": {"template": "turn {{ sys.dialogue_count }}"}},
         end({"out": "t.output"})],
        ["start->t", "t->end"],
        mode="chat",
    )  # fmt: skip

    assert (await Executor(flow).run_to_completion("r1", {})).outputs == {"out": "turn 0"}
    assert (await Executor(flow).run_to_completion("r2", {}, dialogue_count=3)).outputs == {"out": "turn 3"}


async def test_the_final_record_carries_the_conversation_and_a_failed_run_too() -> None:
    store = InMemoryRunStore()

    await Executor(assigner_flow([{"variable": "count", "operation": "add", "constant": 1}]), store=store
                   ).run_to_completion("ok", {})  # fmt: skip

    record = await store.load_run("ok")
    assert record is not None and record.status == "succeeded"
    assert record.conversation is not None and record.conversation["count"] == 11


async def test_a_workflow_without_conversation_variables_reports_none() -> None:
    flow = wf([start(), end({})], ["start->end"])

    result = await Executor(flow).run_to_completion("r1", {})

    assert result.conversation is None


async def test_a_resumed_run_applies_a_finished_assigner_again_without_running_it() -> None:
    store = InMemoryRunStore()
    flow = wf(
        [
            start(),
            {"id": "assign", "type": "variable_assigner",
             "config": {"items": [{"variable": "count", "operation": "add", "constant": 1}]}},
            {"id": "slow", "type": "probe", "config": {"sleep": 5}},
            end({"c": "conversation.count"}),
        ],
        ["start->assign", "assign->slow", "slow->end"],
        mode="chat",
        conversation_variables=[{"name": "count", "type": "number", "default": 0}],
    )  # fmt: skip
    first = Executor(flow, store=store)
    async for event in first.run("r1", {}):
        if event.type == "node_finished" and getattr(event, "node_id", "") == "assign":
            first.cancel()
    records = {r.node_id for r in await store.load("r1")}
    assert "assign" in records

    resumed = await Executor(flow, store=store).run_to_completion("r1", {})

    assert resumed.status == "succeeded"
    assert resumed.conversation == {"count": 1}  # once, not twice
    assert "assign" not in {e.node_id for e in resumed.events if e.type == "node_started"}


async def test_inside_a_loop_an_item_updates_the_loops_variable_after_each_round() -> None:
    flow = wf(
        [
            start(),
            {"id": "count", "type": "loop", "config": {
                "max_count": 10,
                "variables": [{"name": "n", "value": 1, "update": "bump.loop_values.n"}],
                "break_conditions": [{"selector": "count.n", "operator": "ge", "value": 5}]}},
            {"id": "bump", "type": "variable_assigner", "parent": "count",
             "config": {"items": [{"variable": "count.n", "operation": "add", "constant": 1},
                                  {"variable": "seen", "operation": "append", "value": "{{ count.n }}"}]}},
            end({"n": "count.n", "seen": "conversation.seen"}),
        ],
        ["start->count", "count->end"],
        mode="chat",
        conversation_variables=[{"name": "seen", "type": "array[number]", "default": []}],
    )  # fmt: skip

    result = await Executor(flow).run_to_completion("r1", {})

    assert result.status == "succeeded", result.error
    assert result.outputs == {"n": 5, "seen": [1, 2, 3, 4]}


def test_a_loop_variable_target_outside_its_loop_is_refused() -> None:
    with pytest.raises(WorkflowValidationError) as caught:
        compile_workflow(assigner_flow([{"variable": "elsewhere.n", "operation": "add", "constant": 1}]))

    assert "only conversation variables or the enclosing loop's variables" in str(caught.value)
