"""tool: calls one tool of the ToolRegistry with templated arguments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from workflows._ports import ToolRegistry
from workflows.nodes._base import NodeConfig, NodeContext, NodeKind, NodeResult, Template
from workflows.tools import unknown_tool_error

ArgumentValue = Template | bool | int | float | list[Any] | dict[str, Any] | None


class ToolConfig(NodeConfig):
    """String arguments are templates (a lone ``{{ a.b }}`` passes the raw value); others are literals."""

    tool: str = Field(min_length=1)
    arguments: dict[str, ArgumentValue] = Field(default_factory=dict)


class ToolNode(NodeKind[ToolConfig]):
    """Outputs ``result`` (the tool's data) and ``text``."""

    type = "tool"
    config_model = ToolConfig
    description = "Calls a tool."

    def outputs(self, config: ToolConfig) -> Mapping[str, str] | None:
        return {"result": "any", "text": "string"}

    async def run(self, config: ToolConfig, ctx: NodeContext) -> NodeResult:
        registry: ToolRegistry = ctx.port("tools")
        if registry.get(config.tool) is None:
            raise unknown_tool_error(config.tool)
        arguments = {name: ctx.value(v) if isinstance(v, str) else v for name, v in config.arguments.items()}
        result = await registry.invoke(config.tool, arguments, ctx.call)
        return NodeResult({"result": result.data, "text": result.text})
