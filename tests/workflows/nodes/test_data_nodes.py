"""template, if_else, variable_aggregator, list_operator, start, end nodes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflows._helpers import end, failure, run_single, start, template, wf
from workflows import Executor
from workflows.nodes._conditions import compare

PEOPLE = [
    {"name": "ann", "age": 31},
    {"name": "bob", "age": 17},
    {"name": "cy", "age": None},
    {"name": "di", "age": 45},
]


async def test_template_node_renders_jinja_with_filters_loops_and_local_variables() -> None:
    node = {
        "id": "t",
        "type": "template",
        "config": {
            "template": "{% for p in people %}{{ p.name | title }}{% if not loop.last %}, {% endif %}"
            "{% endfor %} ({{ n }})",
            "variables": {"people": "start.people", "n": "start.n"},
        },
    }
    result = await run_single(node, {"o": "t.output"}, {"people": PEOPLE[:2], "n": 2})
    assert result.outputs == {"o": "Ann, Bob (2)"}


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ s.__class__.__mro__ }}",
        "{{ s.__init__.__globals__ }}",
    ],
)
async def test_template_sandbox_refuses_python_internals(source: str) -> None:
    node = {"id": "t", "type": "template", "config": {"template": source, "variables": {"s": "start.x"}}}
    result = await run_single(node, {"o": "t.output"}, {"x": "text"})
    assert result.status == "failed" or "class" not in str(result.outputs["o"])
    assert "subclasses" not in str(result.outputs) and "__builtins__" not in str(result.outputs)


async def test_template_renders_structured_values_as_json() -> None:
    result = await run_single(
        template("t", "{{ start.data }}"), {"o": "t.output"}, {"data": {"a": [1, None]}}
    )
    assert result.outputs == {"o": '{"a": [1, null]}'}


@pytest.mark.parametrize(
    ("operator", "actual", "expected", "holds"),
    [
        ("contains", "hello world", "world", True),
        ("not_contains", ["a", "b"], "c", True),
        ("starts_with", "hello", "he", True),
        ("ends_with", "hello", "lo", True),
        ("is", "x", "x", True),
        ("is_not", "x", "y", True),
        ("=", 3, "3", True),
        ("!=", 3, 4, True),
        (">", 5, 3, True),
        ("<", "2", 10, True),
        (">=", 3, 3, True),
        ("<=", 4, 3, False),
        ("≥", 4, 3, True),
        ("empty", "", None, True),
        ("empty", [], None, True),
        ("not_empty", [1], None, True),
        ("in", "b", "a, b", True),
        ("not_in", "z", ["a"], True),
        ("is_null", None, None, True),
        ("is_not_null", 0, None, True),
        ("is_true", True, None, True),
        ("is_false", "false", None, True),
        (">", None, 3, False),
    ],
)
def test_comparison_operators(operator: str, actual: Any, expected: Any, holds: bool) -> None:
    assert compare(operator, actual, expected) is holds


def if_else(cases: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": "check", "type": "if_else", "config": {"cases": cases}}


@pytest.mark.parametrize(
    ("age", "name", "expected"),
    [(70, "x", "senior"), (30, "vip", "vip"), (30, "x", "other"), (10, "vip", "vip")],
)
async def test_if_else_takes_the_first_case_that_holds_with_and_or_logic(
    age: int, name: str, expected: str
) -> None:
    cases = [
        {
            "id": "senior",
            "logical_operator": "and",
            "conditions": [
                {"selector": "start.age", "operator": ">=", "value": 65},
                {"selector": "start.name", "operator": "is_not", "value": "vip"},
            ],
        },
        {
            "id": "vip",
            "logical_operator": "or",
            "conditions": [
                {"selector": "start.name", "operator": "is", "value": "{{ env.VIP }}"},
                {"selector": "start.age", "operator": "<", "value": 0},
            ],
        },
    ]
    workflow = wf(
        [
            start(),
            if_else(cases),
            template("a", "senior"),
            template("b", "vip"),
            template("c", "other"),
            {
                "id": "join",
                "type": "variable_aggregator",
                "config": {"groups": {"label": ["a.output", "b.output", "c.output"]}},
            },
            end({"label": "join.label", "case": "check.case"}),
        ],
        [
            "start->check",
            "check:senior->a",
            "check:vip->b",
            "check:else->c",
            "a->join",
            "b->join",
            "c->join",
            "join->end",
        ],
        inputs=[{"name": "age", "type": "number"}, {"name": "name"}],
        environment=[{"name": "VIP", "value": "vip"}],
    )
    result = await Executor(workflow).run_to_completion("if", {"age": age, "name": name})
    assert result.outputs == {"label": expected, "case": expected if expected != "other" else "else"}


async def test_if_else_comparing_text_as_a_number_fails_the_node() -> None:
    node = if_else([{"id": "big", "conditions": [{"selector": "start.x", "operator": ">", "value": 3}]}])
    workflow = wf(
        [start(), node, end()], ["start->check", "check:big->end", "check:else->end"], inputs=[{"name": "x"}]
    )
    result = await Executor(workflow).run_to_completion("nan", {"x": "abc"})
    assert failure(result, "check")["message"] == "cannot compare 'abc' as a number"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"filters": [{"key": "age", "operator": ">=", "value": 18}]}, ["ann", "di"]),
        (
            {
                "filters": [
                    {"key": "name", "operator": "starts_with", "value": "b"},
                    {"key": "age", "operator": "is_null"},
                ],
                "logical_operator": "or",
            },
            ["bob", "cy"],
        ),
        ({"sort_key": "age", "sort_order": "desc"}, ["di", "ann", "bob", "cy"]),
        ({"sort_key": "age", "limit": 2}, ["bob", "ann"]),
        ({"limit": 0}, []),
    ],
)
async def test_list_operator_filters_sorts_and_limits(config: dict[str, Any], expected: list[str]) -> None:
    node = {"id": "lo", "type": "list_operator", "config": {"variable": "start.people", **config}}
    result = await run_single(node, {"r": "lo.result", "n": "lo.count", "f": "lo.first"}, {"people": PEOPLE})
    assert [p["name"] for p in result.outputs["r"]] == expected
    assert result.outputs["n"] == len(expected)
    assert result.outputs["f"] == (result.outputs["r"][0] if expected else None)


async def test_list_operator_on_plain_values_compares_the_items() -> None:
    node = {
        "id": "lo",
        "type": "list_operator",
        "config": {"variable": "start.xs", "filters": [{"operator": ">", "value": 2}], "sort_key": ""},
    }
    result = await run_single(node, {"r": "lo.result"}, {"xs": [5, 1, 3]})
    assert result.outputs == {"r": [3, 5]}


async def test_variable_aggregator_takes_the_first_present_value() -> None:
    node = {
        "id": "agg",
        "type": "variable_aggregator",
        "config": {"variables": ["start.missing", "start.b", "start.a"]},
    }
    workflow = wf(
        [start(), node, end({"o": "agg.output"})],
        ["start->agg", "agg->end"],
        inputs=[{"name": "a"}, {"name": "b", "required": False}, {"name": "missing", "required": False}],
    )
    result = await Executor(workflow).run_to_completion("agg", {"a": "A"})
    assert result.outputs == {"o": "A"}


async def test_end_node_outputs_are_the_run_outputs_and_declared_outputs_are_required() -> None:
    from workflows import validate_workflow

    workflow = wf(
        [start(), end({"echo": "start.q"})],
        ["start->end"],
        inputs=[{"name": "q"}],
        outputs=[{"name": "echo"}, {"name": "other"}],
    )
    assert [p.code for p in validate_workflow(workflow)] == ["missing_output"]
