"""parameter_extractor: pulls typed parameters out of text with a model's structured output."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from workflows._dsl import NODE_ID_PATTERN
from workflows._errors import NodeError, Problem
from workflows._ports import ChatMessage, ChatRequest
from workflows.nodes._base import NodeConfig, NodeContext, NodeKind, NodeResult, Template
from workflows.nodes._llm import call_model, parse_json, response_format, validate_against

if TYPE_CHECKING:
    from workflows._dsl import Node
    from workflows._graph import CompiledGraph

_RESERVED = {"is_success", "reason"}


class Parameter(NodeConfig):
    """One parameter to extract."""

    name: Annotated[str, Field(pattern=NODE_ID_PATTERN)]
    type: Literal["string", "number", "integer", "boolean", "array", "object"] = "string"
    description: str = ""
    required: bool = True
    enum: list[Any] | None = None


class ParameterExtractorConfig(NodeConfig):
    """The model reads ``query`` and fills ``parameters``; ``completion_params`` go to the model."""

    model: str = Field(min_length=1)
    completion_params: dict[str, Any] = Field(default_factory=dict)
    query: Template
    parameters: list[Parameter] = Field(min_length=1)
    instruction: Template | None = None


class ParameterExtractorNode(NodeKind[ParameterExtractorConfig]):
    """Outputs each parameter plus ``is_success`` and ``reason`` (why extraction failed)."""

    type = "parameter_extractor"
    config_model = ParameterExtractorConfig
    description = "Extracts structured parameters from text."

    def outputs(self, config: ParameterExtractorConfig) -> Mapping[str, str] | None:
        return {**{p.name: p.type for p in config.parameters}, "is_success": "boolean", "reason": "string"}

    def check(self, config: ParameterExtractorConfig, node: Node, graph: CompiledGraph) -> list[Problem]:
        return [
            Problem(f"config.parameters.{i}.name", f"{p.name!r} is reserved", node.id, "reserved_name")
            for i, p in enumerate(config.parameters)
            if p.name in _RESERVED
        ]

    async def run(self, config: ParameterExtractorConfig, ctx: NodeContext) -> NodeResult:
        schema = json_schema(config.parameters)
        system = (
            "Extract the parameters described by the JSON Schema from the user's text. Answer with JSON only."
        )
        if config.instruction:
            system += "\n" + ctx.render(config.instruction)
        messages = (ChatMessage("system", system), ChatMessage("user", ctx.render(config.query)))
        request = ChatRequest(
            config.model,
            messages,
            ctx.call,
            config.completion_params,
            response_format=response_format(schema),
        )
        result = await call_model(ctx, request, stream=False)
        outputs: dict[str, Any] = {p.name: None for p in config.parameters}
        try:
            values = parse_json(result.text)
            problem = validate_against(values, schema)
        except NodeError as exc:
            values, problem = {}, str(exc)
        if problem is None:
            outputs.update({p.name: values.get(p.name) for p in config.parameters})
        outputs.update(is_success=problem is None, reason=problem or "")
        return NodeResult(outputs, usage=result.usage)


def json_schema(parameters: list[Parameter]) -> dict[str, Any]:
    """The JSON Schema the model's answer must match."""
    properties: dict[str, Any] = {}
    for p in parameters:
        prop: dict[str, Any] = {"type": p.type, "description": p.description}
        if p.enum is not None:
            prop["enum"] = p.enum
        properties[p.name] = prop
    required = [p.name for p in parameters if p.required]
    return {"type": "object", "properties": properties, "required": required}
