"""variable_assigner: write conversation variables (Dify's variable assigner, v1 and v2 operations).

Each item names a declared conversation variable, an operation and (for most operations) a value: a template
(a lone ``{{ node.output }}`` keeps its type) or a JSON constant. The new value is type-checked against the
variable's declared type and written into the run's ``conversation`` namespace at once, so later nodes of the
same run read it (``{{ conversation.name }}``) and the run's final record carries it (``RunRecord.conversation``)
for the platform to persist with the conversation. The node outputs ``written`` (name -> new value), which a
resumed run applies again instead of running the node twice.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from workflows._errors import NodeError, Problem
from workflows._variables import ConversationState
from workflows.nodes._base import NodeConfig, NodeContext, NodeKind, NodeResult, Template

if TYPE_CHECKING:
    from workflows._dsl import Node
    from workflows._graph import CompiledGraph

Operation = Literal[
    "overwrite",
    "set",
    "clear",
    "append",
    "extend",
    "remove_first",
    "remove_last",
    "add",
    "subtract",
    "multiply",
    "divide",
]
_NO_VALUE = frozenset({"clear", "remove_first", "remove_last"})
_ARRAY_OPS = frozenset({"append", "extend", "remove_first", "remove_last"})
_ARITHMETIC = frozenset({"add", "subtract", "multiply", "divide"})
_Fail = Callable[[str], NodeError]
_EMPTY: dict[str, Any] = {"string": "", "number": 0, "boolean": False, "object": {}}


class AssignItem(NodeConfig):
    """One write: ``variable`` (a conversation variable's name), ``operation`` and its operand.

    The operand is ``value`` (a template; a lone placeholder gives the raw value) or ``constant`` (JSON);
    ``clear``, ``remove_first`` and ``remove_last`` take none, ``set`` takes a constant.
    """

    variable: str = Field(pattern=r"^([A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$")
    operation: Operation = "overwrite"
    value: Template | None = None
    constant: Any = None

    @property
    def name(self) -> str:
        """The variable's name without its ``conversation.`` (or loop id) prefix."""
        return self.variable.rpartition(".")[2]

    @property
    def loop(self) -> str | None:
        """The enclosing loop's id when the target is one of its variables (``<loop id>.<name>``)."""
        root = self.variable.partition(".")[0] if "." in self.variable else "conversation"
        return None if root == "conversation" else root

    @model_validator(mode="after")
    def _operand(self) -> AssignItem:
        if self.operation in _NO_VALUE:
            if self.value is not None or self.constant is not None:
                raise ValueError(f"operation {self.operation!r} takes no value")
        elif self.operation == "set" and self.value is not None:
            raise ValueError("operation 'set' takes a constant, not a value")
        elif self.value is not None and self.constant is not None:
            raise ValueError("give either a value or a constant, not both")
        elif self.value is None and self.constant is None and self.operation != "set":
            raise ValueError(f"operation {self.operation!r} needs a value or a constant")
        return self


class VariableAssignerConfig(NodeConfig):
    """The writes, applied in order (a later item sees an earlier item's result)."""

    items: list[AssignItem] = Field(min_length=1)


class VariableAssignerNode(NodeKind[VariableAssignerConfig]):
    """Writes conversation variables; outputs ``written`` (name -> new value).

    Inside a loop's body an item may target one of the loop's variables (``<loop id>.<name>``): its new value
    is computed from the variable's current value (its type is that value's) and output in ``loop_values``,
    which the loop takes as that variable's update after the round (``update: <this id>.loop_values.<name>``).
    """

    type = "variable_assigner"
    config_model = VariableAssignerConfig
    description = "Writes conversation variables (overwrite, clear, append, extend, remove, arithmetic)."

    def outputs(self, config: VariableAssignerConfig) -> Mapping[str, str] | None:
        return {"written": "object", "loop_values": "object"}

    def check(self, config: VariableAssignerConfig, node: Node, graph: CompiledGraph) -> list[Problem]:
        declared = {v.name: v.type for v in graph.workflow.conversation_variables}
        problems: list[Problem] = []
        for i, item in enumerate(config.items):
            kind = declared.get(item.name)
            if item.loop is not None:
                if item.loop == node.parent and _loop_variables(graph, item.loop) >= {item.name}:
                    continue
                message = f"{item.variable!r}: only conversation variables or the enclosing loop's variables"
            elif kind is None:
                message = f"no conversation variable {item.name!r} (declare it in conversation_variables)"
            elif item.operation in _ARRAY_OPS and not kind.startswith("array"):
                message = f"{item.operation} needs an array variable; {item.name!r} is {kind}"
            elif item.operation in _ARITHMETIC and kind != "number":
                message = f"{item.operation} needs a number variable; {item.name!r} is {kind}"
            else:
                continue
            problems.append(Problem(f"config.items.{i}.variable", message, node.id, "invalid_variable"))
        return problems

    async def run(self, config: VariableAssignerConfig, ctx: NodeContext) -> NodeResult:
        conversation = ctx.pool.get("conversation")
        if not isinstance(conversation, ConversationState):
            raise NodeError("variable_assigner: this run has no conversation variables")
        declared = conversation.types
        written: dict[str, Any] = {}
        loop_values: dict[str, Any] = {}
        for item in config.items:
            operand = None if item.operation in _NO_VALUE else _operand(item, ctx)
            if item.loop is not None:
                current = loop_values.get(item.name, ctx.resolve(item.variable))
                new = apply_operation(item.variable, _kind_of(current), item.operation, current, operand)
                loop_values[item.name] = new
                continue
            kind = declared.get(item.name)
            if kind is None:
                raise NodeError(f"variable_assigner: no conversation variable {item.name!r}")
            new = apply_operation(item.name, kind, item.operation, conversation.get(item.name), operand)
            # Written at once (no await between read and write): parallel assigners never lose an update.
            conversation[item.name] = written[item.name] = new
        return NodeResult({"written": written, "loop_values": loop_values})


def _loop_variables(graph: CompiledGraph, loop_id: str) -> set[str]:
    loop = graph.nodes.get(loop_id)
    if loop is None or loop.node.type != "loop":
        return set()
    return {v.name for v in getattr(loop.config, "variables", [])}


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value):
        return "number"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "string"


def _operand(item: AssignItem, ctx: NodeContext) -> Any:
    return ctx.value(item.value) if item.value is not None else item.constant


def apply_operation(name: str, kind: str, operation: str, current: Any, operand: Any) -> Any:
    """The new value of conversation variable ``name`` (declared ``kind``) after ``operation``.

    Raises NodeError naming the variable and the operation when the types do not fit.
    """

    def fail(reason: str) -> NodeError:
        return NodeError(f"variable_assigner: cannot {operation} {name!r} ({kind}): {reason}")

    if operation in ("overwrite", "set"):
        _check(kind, operand, fail)
        return operand
    if operation == "clear":
        return [] if kind.startswith("array") else copy.deepcopy(_EMPTY.get(kind))  # never the shared {}
    if operation in _ARRAY_OPS:
        return _array_op(kind, operation, current, operand, fail)
    if kind != "number":
        raise fail("arithmetic needs a number variable")
    return _arithmetic(operation, current, operand, fail)


def _array_op(kind: str, operation: str, current: Any, operand: Any, fail: _Fail) -> list[Any]:
    if not kind.startswith("array"):
        raise fail(f"{operation} needs an array variable")
    items = list(current) if isinstance(current, list) else []
    if operation == "remove_first":
        return items[1:]
    if operation == "remove_last":
        return items[:-1]
    added = [operand] if operation == "append" else operand
    if not isinstance(added, list):
        raise fail(f"extend needs a list, got {type(operand).__name__}")
    _check(kind, added, fail)
    return items + added


def _arithmetic(operation: str, current: Any, operand: Any, fail: _Fail) -> int | float:
    if not _is_number(operand):
        raise fail(f"the value must be a number, got {type(operand).__name__}")
    base = current if _is_number(current) else 0
    if operation == "divide":
        if operand == 0:
            raise fail("division by zero")
        result: int | float = base / operand
    elif operation == "add":
        result = base + operand
    elif operation == "subtract":
        result = base - operand
    else:
        result = base * operand
    if not math.isfinite(result):
        raise fail("the result is not a finite number")
    return result


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_SCALARS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
}


def _check(kind: str, value: Any, fail: _Fail) -> None:
    if value is None:
        return  # null is allowed for any type (a variable without a value yet)
    if kind in _SCALARS:
        if not _SCALARS[kind](value):
            raise fail(f"expected a {kind}, got {type(value).__name__}")
        return
    if not isinstance(value, list):
        raise fail(f"expected a list, got {type(value).__name__}")
    inner = kind[len("array[") : -1] if kind.startswith("array[") else None
    if inner is not None and not all(_SCALARS[inner](item) for item in value):
        raise fail(f"every item must be a {inner}")
