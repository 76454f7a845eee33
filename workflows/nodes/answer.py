"""answer: a chat workflow's reply, streamed as ``text_chunk`` events while upstream llm nodes generate."""

from __future__ import annotations

from collections.abc import Mapping

from workflows.nodes._base import NodeConfig, NodeContext, NodeKind, NodeResult, Template


class AnswerConfig(NodeConfig):
    """``answer`` is a template, e.g. ``{{ llm.text }}``; plain placeholders stream token by token."""

    answer: Template


class AnswerNode(NodeKind[AnswerConfig]):
    """Renders the answer; the executor streams it (see ``workflows._streaming``)."""

    type = "answer"
    config_model = AnswerConfig
    description = "Streams a templated reply to the user."

    def outputs(self, config: AnswerConfig) -> Mapping[str, str] | None:
        return {"answer": "string"}

    def stream_template(self, config: AnswerConfig) -> str:
        """The template the executor streams for this node."""
        return config.answer

    async def run(self, config: AnswerConfig, ctx: NodeContext) -> NodeResult:
        return NodeResult({"answer": ctx.render(config.answer)})
