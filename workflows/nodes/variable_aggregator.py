"""variable_aggregator: the first available value among selectors (joins branches), optionally per group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from workflows._dsl import NODE_ID_PATTERN
from workflows._errors import Problem
from workflows.nodes._base import NodeConfig, NodeContext, NodeKind, NodeResult, Selector

if TYPE_CHECKING:
    from workflows._dsl import Node
    from workflows._graph import CompiledGraph

GroupName = Annotated[str, Field(pattern=NODE_ID_PATTERN)]


class VariableAggregatorConfig(NodeConfig):
    """``variables`` -> output ``output``; ``groups`` -> one output per group name."""

    variables: list[Selector] = Field(default_factory=list)
    groups: dict[GroupName, list[Selector]] = Field(default_factory=dict)


class VariableAggregatorNode(NodeKind[VariableAggregatorConfig]):
    """Takes the first selector whose node ran (skipped branches have no value)."""

    type = "variable_aggregator"
    pure = True
    config_model = VariableAggregatorConfig
    description = "Joins branches: the first value that exists."

    def outputs(self, config: VariableAggregatorConfig) -> Mapping[str, str] | None:
        names = {name: "any" for name in config.groups}
        return {"output": "any", **names} if config.variables else names

    def check(self, config: VariableAggregatorConfig, node: Node, graph: CompiledGraph) -> list[Problem]:
        if config.variables or config.groups:
            return []
        return [Problem("config", "set variables or groups", node.id, "empty_aggregator")]

    async def run(self, config: VariableAggregatorConfig, ctx: NodeContext) -> NodeResult:
        outputs = {name: _first(ctx, selectors) for name, selectors in config.groups.items()}
        if config.variables:
            outputs["output"] = _first(ctx, config.variables)
        return NodeResult(outputs)


def _first(ctx: NodeContext, selectors: list[Selector]) -> Any:
    for selector in selectors:
        value = ctx.resolve(selector)
        if value is not None:
            return value
    return None
