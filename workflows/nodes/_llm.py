"""Shared by the model-calling nodes: message building, streaming calls, structured output parsing."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import jsonschema
from pydantic import Field, field_validator

from workflows._errors import NodeError
from workflows._ports import ChatMessage, ChatRequest, ChatResult, ModelGateway, ToolCall, Usage
from workflows.nodes._base import NodeConfig, NodeContext, Template

_FENCE = "```"


class MessageTemplate(NodeConfig):
    """One message of a chat template."""

    role: Literal["system", "user", "assistant"] = "user"
    content: Template


class Memory(NodeConfig):
    """How much of the conversation history (``run(history=...)``) goes into the prompt."""

    window: int = Field(default=10, ge=0, le=200)


def check_json_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """Validator: the value must itself be a valid JSON Schema."""
    if schema is not None:
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
    return schema


class ModelSettings(NodeConfig):
    """The model reference (a model endpoint id or slug the gateway resolves) and its parameters."""

    model: str = Field(min_length=1)
    parameters: dict[str, Any] = Field(default_factory=dict)


class SchemaField(NodeConfig):
    """Mixin validator for configs carrying a JSON Schema."""

    @field_validator("response_schema", check_fields=False)
    @classmethod
    def _valid_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return check_json_schema(value)


def with_memory(
    ctx: NodeContext, memory: Memory | None, messages: Sequence[ChatMessage]
) -> tuple[ChatMessage, ...]:
    """Insert the last ``memory.window`` history messages after the system messages."""
    if memory is None or not memory.window or not ctx.history:
        return tuple(messages)
    system = [m for m in messages if m.role == "system"]
    rest = [m for m in messages if m.role != "system"]
    return (*system, *ctx.history[-memory.window :], *rest)


def response_format(schema: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The OpenAI-style ``response_format`` for a JSON Schema."""
    if schema is None:
        return None
    return {"type": "json_schema", "json_schema": {"name": "output", "schema": dict(schema), "strict": True}}


def gateway(ctx: NodeContext) -> ModelGateway:
    """The model gateway port."""
    port: ModelGateway = ctx.port("models")
    return port


async def call_model(ctx: NodeContext, request: ChatRequest, *, stream: bool) -> ChatResult:
    """Call the model; when streaming, text deltas go to ``ctx.stream_text`` as they arrive."""
    models = gateway(ctx)
    if not stream:
        return await models.chat(request)
    parts: list[str] = []
    usage, model = Usage(), request.model
    tool_calls: tuple[ToolCall, ...] = ()
    async for chunk in models.stream(request):
        if chunk.text:
            parts.append(chunk.text)
            ctx.stream_text(chunk.text)
        usage = chunk.usage or usage
        model = chunk.model or model
        tool_calls = chunk.tool_calls or tool_calls
    return ChatResult("".join(parts), usage, model, tool_calls)


def parse_json(text: str) -> Any:
    """Parse a model's JSON answer, tolerating a Markdown code fence around it."""
    try:
        return json.loads(_unfenced(text))
    except json.JSONDecodeError as exc:
        raise NodeError(f"model output is not valid JSON: {exc.msg} (output: {text[:200]!r})") from None
    except RecursionError:
        raise NodeError("model output is JSON nested too deeply to parse") from None


def _unfenced(text: str) -> str:
    # String operations, not a regex: ``\s*(.*?)\s*`` over a long run of spaces backtracks quadratically.
    stripped = text.strip()
    if len(stripped) < 6 or not (stripped.startswith(_FENCE) and stripped.endswith(_FENCE)):
        return text
    inner = stripped[3:-3]
    return inner.removeprefix("json").strip()


def validate_against(value: Any, schema: Mapping[str, Any]) -> str | None:
    """The first schema violation, or None."""
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        return f"{where}: {exc.message}"
    return None


def render_messages(ctx: NodeContext, templates: Sequence[MessageTemplate]) -> list[ChatMessage]:
    """Render a chat template."""
    return [ChatMessage(t.role, ctx.render(t.content)) for t in templates]
