"""loop: runs its body again and again until a break condition holds or ``max_count`` rounds ran.

Each round is a checkpointed body run (``NodeContext.run_body_checkpointed``): with a RunStore, a finished
round is recorded as ``<loop>#<index>`` with the loop variables after it and whether the loop broke there, so
a resumed run replays the finished rounds from their records and continues with the next one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field

from workflows._dsl import NODE_ID_PATTERN
from workflows._events import LoopProgress
from workflows._variables import resolve
from workflows.nodes._base import (
    BodySelector,
    NodeConfig,
    NodeContext,
    NodeKind,
    NodeResult,
    Summarize,
    TemplateStr,
)
from workflows.nodes._conditions import ConditionValue, Operator, compare, expected_value


class LoopVariable(NodeConfig):
    """State carried between rounds: starts at ``value`` (a string is a template), then takes ``update``
    (a selector into the body, e.g. ``step.output``) after each round."""

    name: Annotated[str, Field(pattern=NODE_ID_PATTERN)]
    value: ConditionValue = None
    update: BodySelector | None = None


class BreakCondition(NodeConfig):
    """Checked after each round, against the body's outputs and the loop's own variables."""

    selector: BodySelector
    operator: Operator
    value: ConditionValue = None


class LoopConfig(NodeConfig):
    """Body nodes read ``{{ <this id>.index }}`` and ``{{ <this id>.<variable> }}``."""

    max_count: int = Field(default=10, ge=1, le=10_000)
    variables: list[LoopVariable] = Field(default_factory=list)
    break_conditions: list[BreakCondition] = Field(default_factory=list)
    logical_operator: Literal["and", "or"] = "and"


class LoopNode(NodeKind[LoopConfig]):
    """Outputs each loop variable's final value and ``rounds``."""

    type = "loop"
    config_model = LoopConfig
    container = True
    description = "Repeats its body until a condition holds."

    def outputs(self, config: LoopConfig) -> Mapping[str, str] | None:
        return {**{v.name: "any" for v in config.variables}, "rounds": "number"}

    def body_names(self, config: LoopConfig) -> Mapping[str, str] | None:
        return {"index": "number", **{v.name: "any" for v in config.variables}}

    async def run(self, config: LoopConfig, ctx: NodeContext) -> NodeResult:
        node_id = ctx.node.id
        values = {
            v.name: ctx.render(v.value) if isinstance(v.value, TemplateStr) else v.value
            for v in config.variables
        }
        rounds = 0
        for index in range(config.max_count):
            summarize = _round_summary(config, node_id, index, values)
            summary = await ctx.run_body_checkpointed(
                {node_id: {"index": index, **values}}, index, summarize, unit="round"
            )
            rounds = index + 1
            values = summary["variables"]
            ctx.emit(
                LoopProgress(run_id=ctx.run_id, node_id=node_id, index=index, max_count=config.max_count)
            )
            if summary["break"]:
                break
        return NodeResult({**values, "rounds": rounds})


def _round_summary(config: LoopConfig, node_id: str, index: int, values: dict[str, Any]) -> Summarize:
    """What a round leaves for the next: the updated variables, and whether the loop breaks after it."""

    def summarize(pool: dict[str, Any]) -> dict[str, Any]:
        updated = {**values, **{v.name: resolve(pool, v.update) for v in config.variables if v.update}}
        pool[node_id] = {"index": index, **updated}
        return {"variables": updated, "break": bool(config.break_conditions) and _should_break(config, pool)}

    return summarize


def _should_break(config: LoopConfig, pool: dict[str, Any]) -> bool:
    results = (
        compare(c.operator, resolve(pool, c.selector), expected_value(c.value, pool))
        for c in config.break_conditions
    )
    return all(results) if config.logical_operator == "and" else any(results)
