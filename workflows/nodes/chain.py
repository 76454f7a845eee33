"""chain: runs a chain (prompt + model + parser ...) by reference."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from workflows._ports import ChainRunner
from workflows.nodes._base import NodeConfig, NodeContext, NodeKind, NodeResult, Template


class ChainConfig(NodeConfig):
    """``inputs`` are templates (a lone ``{{ a.b }}`` passes the raw value); the conversation defaults to the
    run's ``sys.conversation_id``."""

    chain: str = Field(min_length=1)
    inputs: dict[str, Template] = Field(default_factory=dict)
    conversation_id: Template | None = None


class ChainNode(NodeKind[ChainConfig]):
    """Outputs ``output`` (the chain's parsed result) and ``text``."""

    type = "chain"
    config_model = ChainConfig
    description = "Runs a chain."

    def outputs(self, config: ChainConfig) -> Mapping[str, str] | None:
        return {"output": "any", "text": "string"}

    async def run(self, config: ChainConfig, ctx: NodeContext) -> NodeResult:
        runner: ChainRunner = ctx.port("chains")
        inputs = {name: ctx.value(template) for name, template in config.inputs.items()}
        conversation = ctx.render(config.conversation_id) if config.conversation_id else None
        conversation = conversation or ctx.pool["sys"].get("conversation_id")
        result = await runner.run(config.chain, inputs, conversation_id=conversation, context=ctx.call)
        if result.text:
            ctx.stream_text(result.text)
        return NodeResult({"output": result.output, "text": result.text}, usage=result.usage)
