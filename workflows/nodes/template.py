"""template: renders a sandboxed Jinja2 template (compiled once, cached across runs)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pydantic import Field

from workflows._variables import Reference
from workflows.nodes._base import NodeConfig, NodeContext, NodeKind, NodeResult, Selector, Template


class TemplateConfig(NodeConfig):
    """``template`` sees the whole pool plus the local names bound in ``variables``."""

    template: Template
    variables: dict[str, Selector] = Field(default_factory=dict)


class TemplateNode(NodeKind[TemplateConfig]):
    """Outputs ``output``: the rendered text."""

    type = "template"
    pure = True
    config_model = TemplateConfig
    description = "Renders a Jinja2 template."

    def outputs(self, config: TemplateConfig) -> Mapping[str, str] | None:
        return {"output": "string"}

    def references(self, config: TemplateConfig) -> Iterator[tuple[str, Reference, bool]]:
        local = set(config.variables)
        for path, ref, body in super().references(config):
            if ref.root not in local:
                yield path, ref, body

    async def run(self, config: TemplateConfig, ctx: NodeContext) -> NodeResult:
        extra = (
            {name: ctx.resolve(sel) for name, sel in config.variables.items()} if config.variables else None
        )
        # Rendering is this node's whole job and can be long: off the event loop, within the run's limits.
        return NodeResult({"output": await ctx.render_off_loop(config.template, extra)})
