"""end: collects the workflow's outputs from upstream values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from workflows._dsl import NODE_ID_PATTERN
from workflows._errors import Problem
from workflows.nodes._base import NodeConfig, NodeContext, NodeKind, NodeResult, Selector

if TYPE_CHECKING:
    from workflows._dsl import Node
    from workflows._graph import CompiledGraph

OutputName = Annotated[str, Field(pattern=NODE_ID_PATTERN)]


class EndConfig(NodeConfig):
    """``outputs`` maps each workflow output name to the selector of its value."""

    outputs: dict[OutputName, Selector] = Field(default_factory=dict)


class EndNode(NodeKind[EndConfig]):
    """The run's outputs are those of the end node that ran."""

    type = "end"
    config_model = EndConfig
    description = "Ends the workflow and sets its outputs."

    def outputs(self, config: EndConfig) -> Mapping[str, str] | None:
        return {name: "any" for name in config.outputs}

    def handles(self, config: EndConfig) -> tuple[str, ...]:
        return ()

    def check(self, config: EndConfig, node: Node, graph: CompiledGraph) -> list[Problem]:
        missing = [o.name for o in graph.workflow.outputs if o.name not in config.outputs]
        return [
            Problem(
                f"config.outputs.{name}", "declared workflow output is not set", node.id, "missing_output"
            )
            for name in missing
        ]

    async def run(self, config: EndConfig, ctx: NodeContext) -> NodeResult:
        return NodeResult({name: ctx.resolve(selector) for name, selector in config.outputs.items()})
