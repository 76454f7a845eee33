"""question_classifier: asks a model which class a query belongs to and branches on the answer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from workflows._dsl import NODE_ID_PATTERN
from workflows._errors import NodeError, Problem
from workflows._ports import ChatMessage, ChatRequest
from workflows.nodes._base import NodeConfig, NodeContext, NodeKind, NodeResult, Template
from workflows.nodes._llm import ModelSettings, call_model, parse_json, response_format

if TYPE_CHECKING:
    from workflows._dsl import Node
    from workflows._graph import CompiledGraph


class QuestionClass(NodeConfig):
    """A class; its ``id`` is the branch handle."""

    id: Annotated[str, Field(pattern=NODE_ID_PATTERN)]
    name: str = Field(min_length=1)
    description: str = ""


class QuestionClassifierConfig(ModelSettings):
    """Classes are offered to the model with their descriptions; ``instruction`` adds guidance."""

    query: Template
    classes: list[QuestionClass] = Field(min_length=2)
    instruction: Template | None = None


class QuestionClassifierNode(NodeKind[QuestionClassifierConfig]):
    """Outputs ``class_id`` and ``class_name``; takes the handle of the chosen class."""

    type = "question_classifier"
    config_model = QuestionClassifierConfig
    description = "Routes a question to one of several classes."

    def outputs(self, config: QuestionClassifierConfig) -> Mapping[str, str] | None:
        return {"class_id": "string", "class_name": "string"}

    def handles(self, config: QuestionClassifierConfig) -> tuple[str, ...]:
        return tuple(c.id for c in config.classes)

    def check(self, config: QuestionClassifierConfig, node: Node, graph: CompiledGraph) -> list[Problem]:
        ids = [c.id for c in config.classes]
        return [
            Problem(f"config.classes.{i}.id", f"duplicate class id {cid!r}", node.id, "duplicate_class")
            for i, cid in enumerate(ids)
            if ids.index(cid) != i
        ]

    async def run(self, config: QuestionClassifierConfig, ctx: NodeContext) -> NodeResult:
        schema = {
            "type": "object",
            "properties": {"class_id": {"type": "string", "enum": [c.id for c in config.classes]}},
            "required": ["class_id"],
            "additionalProperties": False,
        }
        messages = (
            ChatMessage("system", _system_prompt(config, ctx)),
            ChatMessage("user", ctx.render(config.query)),
        )
        request = ChatRequest(
            config.model, messages, ctx.call, config.parameters, response_format=response_format(schema)
        )
        result = await call_model(ctx, request, stream=False)
        chosen = _pick(config, result.text)
        return NodeResult(
            {"class_id": chosen.id, "class_name": chosen.name}, branch=chosen.id, usage=result.usage
        )


def _system_prompt(config: QuestionClassifierConfig, ctx: NodeContext) -> str:
    classes = [{"class_id": c.id, "name": c.name, "description": c.description} for c in config.classes]
    instruction = ctx.render(config.instruction) if config.instruction else ""
    return (
        "Classify the user's question into exactly one of these classes and answer with JSON "
        f'{{"class_id": "<id>"}} only.\nClasses: {json.dumps(classes, ensure_ascii=False)}\n{instruction}'
    ).strip()


def _pick(config: QuestionClassifierConfig, text: str) -> QuestionClass:
    by_id = {c.id: c for c in config.classes}
    try:
        answer = parse_json(text)
        if isinstance(answer, dict) and answer.get("class_id") in by_id:
            return by_id[answer["class_id"]]
    except NodeError:
        pass
    # Small models often answer with the bare id or name instead of JSON: accept an exact match.
    stripped = text.strip().strip('"').lower()
    for c in config.classes:
        if stripped in (c.id.lower(), c.name.lower()):
            return c
    raise NodeError(f"model answer names no known class: {text[:200]!r}")
