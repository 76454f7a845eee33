"""start: the entry of a workflow; its outputs are the run's (validated) inputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from workflows._errors import Problem
from workflows.nodes._base import NodeConfig, NodeContext, NodeKind, NodeResult

if TYPE_CHECKING:
    from workflows._dsl import Node
    from workflows._graph import CompiledGraph


class StartConfig(NodeConfig):
    """No settings: inputs are declared on the workflow (``Workflow.inputs``)."""


_JSON_TYPES = {
    "text": "string",
    "paragraph": "string",
    "select": "string",
    "number": "number",
    "boolean": "boolean",
    "json": "any",
    "file": "object",
}


class StartNode(NodeKind[StartConfig]):
    """Exposes the workflow inputs as ``{{ start_id.<input> }}``."""

    type = "start"
    config_model = StartConfig
    description = "Entry point; outputs the run inputs."

    def outputs(self, config: StartConfig) -> Mapping[str, str] | None:
        # The declared inputs are only known with the workflow, so check() fills them; here: dynamic.
        return None

    def check(self, config: StartConfig, node: Node, graph: CompiledGraph) -> list[Problem]:
        graph.declared_outputs[node.id] = {f.name: _JSON_TYPES[f.type] for f in graph.workflow.inputs}
        if node.parent is not None:
            return [
                Problem("parent", "a start node cannot be inside a container", node.id, "start_in_container")
            ]
        return []

    async def run(self, config: StartConfig, ctx: NodeContext) -> NodeResult:
        return NodeResult(dict(ctx.pool["sys"]["inputs"]))
