"""prompt: renders a versioned prompt by reference (``name@label`` or ``name:version``)."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from workflows._ports import PromptResolver
from workflows.nodes._base import NodeConfig, NodeContext, NodeKind, NodeResult, Template


class PromptConfig(NodeConfig):
    """``variables`` fill the prompt's own variables (a lone ``{{ a.b }}`` passes the raw value)."""

    prompt: str = Field(min_length=1)
    variables: dict[str, Template] = Field(default_factory=dict)


class PromptNode(NodeKind[PromptConfig]):
    """Outputs ``text`` (all messages joined), ``messages``, ``version`` and the prompt's ``model``."""

    type = "prompt"
    config_model = PromptConfig
    description = "Renders a versioned prompt."

    def outputs(self, config: PromptConfig) -> Mapping[str, str] | None:
        return {"text": "string", "messages": "array", "version": "string", "model": "string"}

    async def run(self, config: PromptConfig, ctx: NodeContext) -> NodeResult:
        resolver: PromptResolver = ctx.port("prompts")
        variables = {name: ctx.value(template) for name, template in config.variables.items()}
        rendered = await resolver.render(config.prompt, variables, ctx.call)
        return NodeResult(
            {
                "text": rendered.text,
                "messages": [m.to_dict() for m in rendered.messages],
                "version": rendered.version,
                "model": rendered.model,
            }
        )
