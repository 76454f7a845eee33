"""Control flow: if-else, iteration, loop, and variable assigners (conversation variables, or folded into a loop).

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
    """A variable assigner (v1 or v2) writing conversation variables becomes a ``variable_assigner`` node.

    Inside a loop, one that only overwrites the loop's own variables with values folds into the loop's
    variable updates instead (loop variables are the loop's state here, not a pool namespace).
    """
    parent = m.refs.nodes.get(m.node.parent or "")
    items = _assignments(m.data)
    targets = [list(item.get("variable_selector") or [])[:1] for item in items]
    loop = parent if parent is not None and parent.dify_type == "loop" else None
    if loop is not None and all(t == [loop.dify_id] for t in targets) and all(map(_plain_overwrite, items)):
        return _fold_into_loop(m, loop, items)
    converted = [_assign_item(m, item, f"assignment {index}", loop) for index, item in enumerate(items, 1)]
    if not converted:
        m.fail("the assigner has no assignment")
    updates = {}
    for item in converted:
        if item is not None and loop is not None and item["variable"].startswith(f"{loop.our_id}."):
            name = item["variable"].rpartition(".")[2]
            updates[name] = f"{m.info.our_id}.loop_values.{name}"
    if updates:
        m.warn("the loop's variables take the assigned values at the end of each round")
    config = {"items": [item for item in converted if item is not None]}
    return Mapped("variable_assigner", config, loop_updates=updates)


def _plain_overwrite(item: dict[str, Any]) -> bool:
    return item.get("operation") in _OVERWRITE and item.get("input_type", "variable") == "variable"


# Dify's operations (v1 ``write_mode`` and v2 ``operation``) -> ours.
_OPERATIONS = {
    "over-write": "overwrite",
    "overwrite": "overwrite",
    "set": "set",
    "clear": "clear",
    "append": "append",
    "extend": "extend",
    "remove-first": "remove_first",
    "remove-last": "remove_last",
    "+=": "add",
    "-=": "subtract",
    "*=": "multiply",
    "/=": "divide",
}
_NO_OPERAND = {"clear", "remove_first", "remove_last"}


def _assign_item(m: NodeMapper, item: dict[str, Any], where: str, loop: Any) -> dict[str, Any] | None:
    target = [str(p) for p in item.get("variable_selector") or []]
    operation = _OPERATIONS.get(str(item.get("operation") or "over-write"))
    if operation is None:
        m.fail(f"{where}: operation {item.get('operation')!r} has no equivalent")
        return None
    if loop is not None and len(target) == 2 and target[0] == loop.dify_id:
        variable = f"{loop.our_id}.{loop.renames.get(target[1], target[1])}"
    elif len(target) != 2 or target[0] != "conversation":
        m.fail(f"{where}: only conversation variables (or the enclosing loop's) can be assigned, not "
               f"{'.'.join(target)!r}")  # fmt: skip
        return None
    elif (name := m.refs.conversation.get(target[1])) is None:
        m.fail(f"{where}: no conversation variable {target[1]!r} in the file")
        return None
    else:
        variable = f"conversation.{name}"
    converted: dict[str, Any] = {"variable": variable, "operation": operation}
    if operation in _NO_OPERAND:
        return converted
    if item.get("input_type", "variable") == "constant":
        converted["constant"] = item.get("value")
        return converted
    converted["value"] = m.placeholder(item.get("value"), where)
    if operation == "set":  # ``set`` takes a constant here; from a variable it is an overwrite
        converted["operation"] = "overwrite"
    return converted


def _fold_into_loop(m: NodeMapper, parent: Any, items: list[dict[str, Any]]) -> Mapped:
    updates: dict[str, str] = {}
    for index, item in enumerate(items, 1):
        target = item.get("variable_selector") or []
        where = f"assignment {index}"
        if len(target) != 2:
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
