"""Control flow: if-else, iteration, loop, and variable assigners folded into their loop.

Dify containers hold their body as child nodes (``parentId``) entered through an ``iteration-start`` or
``loop-start`` node; here body nodes carry ``parent`` and the body's entry nodes are simply those without
incoming edges, so the start markers are dropped.
"""

from __future__ import annotations

from typing import Any

from llmops.studio.dify.conditions import conditions
from llmops.studio.dify.context import Mapped, NodeMapper
from llmops.studio.dify.references import escape_literal, unique, valid_name

_ERROR_MODES = {
    "terminated": "terminate",
    "continue-on-error": "continue",
    "remove-abnormal-output": "remove_failed",
}
_OVERWRITE = {"over-write", "overwrite", "set"}


def if_else(m: NodeMapper) -> Mapped:
    """Cases in order, each case id a handle; Dify's ``false`` handle is our ``else``."""
    cases_data = m.data.get("cases")
    if cases_data is None and "conditions" in m.data:  # files from before Dify had cases: true/false only
        operator = m.data.get("logical_operator", "and")
        cases_data = [{"case_id": "true", "logical_operator": operator, "conditions": m.data["conditions"]}]
    handles = {"false": "else"}
    taken = {"else"}
    cases = []
    for index, case in enumerate(cases_data or [], 1):
        dify_id = str(case.get("case_id") or "")
        ours = unique(
            dify_id if valid_name(dify_id) else f"case_{index}", taken, reserved=frozenset({"else"})
        )
        handles[dify_id] = ours
        operator = "or" if case.get("logical_operator") == "or" else "and"
        converted = conditions(m, case.get("conditions"), operator, f"case {index}")
        if not case.get("conditions"):
            m.fail(f"case {index} has no condition")
        cases.append({"id": ours, "logical_operator": operator, "conditions": converted})
    if not cases:
        m.fail("the node has no case")
    return Mapped("if_else", {"cases": cases}, handles=handles)


def iteration(m: NodeMapper) -> Mapped:
    """Maps its body over a list; parallelism and error handling carry over."""
    data = m.data
    mode = str(data.get("error_handle_mode") or "terminated")
    if mode not in _ERROR_MODES:
        m.fail(f"error handling mode {mode!r} has no equivalent")
    config: dict[str, Any] = {
        "items": m.selector(data.get("iterator_selector"), "iterator"),
        "output_selector": m.selector(data.get("output_selector"), "output"),
        "parallel": bool(data.get("is_parallel")),
        "error_mode": _ERROR_MODES.get(mode, "terminate"),
    }
    if data.get("is_parallel") and data.get("parallel_nums"):
        config["max_parallel"] = max(1, min(int(data["parallel_nums"]), 100))
    return Mapped("iteration", config)


def loop(m: NodeMapper) -> Mapped:
    """Rounds, loop variables and break conditions; variable updates come from folded assigners."""
    data = m.data
    operator = "or" if data.get("logical_operator") == "or" else "and"
    config: dict[str, Any] = {
        "max_count": max(1, min(int(data.get("loop_count") or 10), 10_000)),
        "variables": [_loop_variable(m, v) for v in data.get("loop_variables") or []],
        "break_conditions": conditions(m, data.get("break_conditions"), operator, "break"),
        "logical_operator": operator,
    }
    return Mapped("loop", config)


def _loop_variable(m: NodeMapper, variable: dict[str, Any]) -> dict[str, Any]:
    name = m.output_name(str(variable.get("label", "")))
    value = variable.get("value")
    if variable.get("value_type") == "variable":
        m.warn(f"loop variable {name!r} starts as the text of its source value (loop values are templates)")
        return {"name": name, "value": m.placeholder(value, f"loop variable {name!r}")}
    if isinstance(value, str) and variable.get("var_type") == "number":
        try:
            return {"name": name, "value": float(value) if "." in value else int(value)}
        except ValueError:
            m.fail(f"loop variable {name!r}: {value!r} is not a number")
    if isinstance(value, str):
        value = escape_literal(value)
    return {"name": name, "value": value}


def assigner(m: NodeMapper) -> Mapped | None:
    """Inside a loop, overwriting loop variables with values folds into the loop's variable updates.

    Anything else (conversation variables, append/clear/arithmetic) has no equivalent here.
    """
    parent = m.refs.nodes.get(m.node.parent or "")
    if parent is None or parent.dify_type != "loop":
        m.fail("assigning conversation variables has no equivalent (only a loop's variables can change)")
        return None
    updates: dict[str, str] = {}
    for index, item in enumerate(_assignments(m.data), 1):
        target = item.get("variable_selector") or []
        where = f"assignment {index}"
        if list(target[:1]) != [parent.dify_id] or len(target) != 2:
            m.fail(f"{where}: only variables of the enclosing loop can be assigned")
        elif item.get("operation") not in _OVERWRITE or item.get("input_type", "variable") != "variable":
            m.fail(f"{where}: {item.get('operation')!r} of a {item.get('input_type')} has no equivalent")
        else:
            updates[parent.renames.get(target[1], target[1])] = m.selector(item.get("value"), where)
    m.warn("folded into the loop's variable updates: new values apply at the end of each round")
    return Mapped("", {}, loop_updates=updates)


def _assignments(data: Any) -> list[dict[str, Any]]:
    if data.get("items") is not None:
        return list(data["items"])
    return [  # version 1: one assignment
        {
            "variable_selector": data.get("assigned_variable_selector"),
            "operation": data.get("write_mode"),
            "input_type": "variable",
            "value": data.get("input_variable_selector"),
        }
    ]
