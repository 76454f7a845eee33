"""llm: a chat model call with a message template, memory, token streaming and structured output."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from workflows._errors import NodeError
from workflows._ports import ChatRequest
from workflows.nodes._base import NodeContext, NodeKind, NodeResult
from workflows.nodes._llm import (
    Memory,
    MessageTemplate,
    ModelSettings,
    SchemaField,
    call_model,
    parse_json,
    render_messages,
    response_format,
    validate_against,
    with_memory,
)


class LLMConfig(ModelSettings, SchemaField):
    """``response_schema`` asks for JSON matching it (output ``structured``); ``stream`` streams tokens."""

    messages: list[MessageTemplate] = Field(min_length=1)
    response_schema: dict[str, Any] | None = None
    memory: Memory | None = None
    stream: bool = True


class LLMNode(NodeKind[LLMConfig]):
    """Outputs ``text``, ``structured`` (with a schema), ``model`` and ``usage``."""

    type = "llm"
    config_model = LLMConfig
    description = "Calls a chat model."

    def outputs(self, config: LLMConfig) -> Mapping[str, str] | None:
        base = {"text": "string", "model": "string", "usage": "object"}
        return {**base, "structured": "object"} if config.response_schema is not None else base

    async def run(self, config: LLMConfig, ctx: NodeContext) -> NodeResult:
        messages = with_memory(ctx, config.memory, render_messages(ctx, config.messages))
        request = ChatRequest(
            config.model,
            messages,
            ctx.call,
            config.parameters,
            response_format=response_format(config.response_schema),
        )
        # Structured output is parsed whole, so streaming its raw JSON tokens would only confuse readers.
        result = await call_model(ctx, request, stream=config.stream and config.response_schema is None)
        outputs: dict[str, Any] = {
            "text": result.text,
            "model": result.model,
            "usage": result.usage.to_dict(),
        }
        if config.response_schema is not None:
            outputs["structured"] = parse_json(result.text)
            problem = validate_against(outputs["structured"], config.response_schema)
            if problem:
                raise NodeError(f"model output does not match the response schema at {problem}")
        return NodeResult(outputs, usage=result.usage)
