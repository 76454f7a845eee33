"""agent: a model calling tools until it can answer (function calling or ReAct), within max_iterations."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from workflows._errors import NodeError, ToolError
from workflows._ports import ChatMessage, ChatRequest, ToolRegistry, ToolSpec, Usage
from workflows.nodes._base import NodeContext, NodeKind, NodeResult, Template
from workflows.nodes._llm import Memory, ModelSettings, call_model, with_memory

_ACTION = re.compile(r"Action\s*:\s*(?P<name>[\w.-]+)\s*\n\s*Action Input\s*:\s*(?P<input>.*)", re.DOTALL)
_FINAL = re.compile(r"Final Answer\s*:\s*(?P<answer>.*)", re.DOTALL)


class AgentConfig(ModelSettings):
    """``tools`` names registry tools (empty: all of them)."""

    instruction: Template = ""
    query: Template
    tools: list[str] = Field(default_factory=list)
    strategy: Literal["function_calling", "react"] = "function_calling"
    max_iterations: int = Field(default=5, ge=1, le=50)
    memory: Memory | None = None


class AgentNode(NodeKind[AgentConfig]):
    """Outputs ``text`` (the final answer), ``iterations`` and ``tool_calls`` (name, arguments, result)."""

    type = "agent"
    config_model = AgentConfig
    description = "Answers using tools (function calling or ReAct)."

    def outputs(self, config: AgentConfig) -> Mapping[str, str] | None:
        return {"text": "string", "iterations": "number", "tool_calls": "array"}

    async def run(self, config: AgentConfig, ctx: NodeContext) -> NodeResult:
        registry: ToolRegistry = ctx.port("tools")
        specs = _specs(config, registry)
        run = _AgentRun(config, ctx, registry, specs)
        text = await (run.react() if config.strategy == "react" else run.function_calling())
        ctx.stream_text(text)
        outputs = {"text": text, "iterations": run.iterations, "tool_calls": run.calls}
        return NodeResult(outputs, usage=run.usage)


def _specs(config: AgentConfig, registry: ToolRegistry) -> tuple[ToolSpec, ...]:
    if not config.tools:
        return tuple(registry.list_tools())
    specs = []
    for name in config.tools:
        spec = registry.get(name)
        if spec is None:
            raise ToolError(f"unknown tool {name!r}")
        specs.append(spec)
    return tuple(specs)


class _AgentRun:
    def __init__(
        self, config: AgentConfig, ctx: NodeContext, registry: ToolRegistry, specs: tuple[ToolSpec, ...]
    ):
        self.config, self.ctx, self.registry, self.specs = config, ctx, registry, specs
        self.usage = Usage()
        self.iterations = 0
        self.calls: list[dict[str, Any]] = []

    def _messages(self, system: str) -> list[ChatMessage]:
        base = [ChatMessage("system", system)] if system else []
        base.append(ChatMessage("user", self.ctx.render(self.config.query)))
        return list(with_memory(self.ctx, self.config.memory, base))

    async def _chat(self, messages: list[ChatMessage], tools: tuple[ToolSpec, ...]) -> Any:
        self.iterations += 1
        request = ChatRequest(
            self.config.model, tuple(messages), self.ctx.call, self.config.parameters, tools
        )
        result = await call_model(self.ctx, request, stream=False)
        self.usage += result.usage
        return result

    async def _invoke(self, name: str, arguments: dict[str, Any]) -> str:
        try:
            result = await self.registry.invoke(name, arguments, self.ctx.call)
            text = result.text
        except ToolError as exc:  # shown to the model so it can correct itself
            text = f"error: {exc}"
        self.calls.append({"name": name, "arguments": arguments, "result": text})
        return text

    async def function_calling(self) -> str:
        messages = self._messages(self.ctx.render(self.config.instruction))
        for _ in range(self.config.max_iterations):
            result = await self._chat(messages, self.specs)
            if not result.tool_calls:
                return str(result.text)
            messages.append(ChatMessage("assistant", result.text, tool_calls=result.tool_calls))
            for call in result.tool_calls:
                output = await self._invoke(call.name, call.arguments)
                messages.append(ChatMessage("tool", output, tool_call_id=call.id, name=call.name))
        raise NodeError(f"agent reached max_iterations ({self.config.max_iterations}) without a final answer")

    async def react(self) -> str:
        messages = self._messages(_react_prompt(self.ctx.render(self.config.instruction), self.specs))
        for _ in range(self.config.max_iterations):
            text = str((await self._chat(messages, ())).text)
            final = _FINAL.search(text)
            action = _ACTION.search(text)
            if final and (not action or final.start() < action.start()):
                return final.group("answer").strip()
            if not action:
                return text.strip()  # no protocol at all: the model answered directly
            observation = await self._invoke(action.group("name"), _action_input(action.group("input")))
            messages.append(ChatMessage("assistant", text[: action.end()]))
            messages.append(ChatMessage("user", f"Observation: {observation}"))
        raise NodeError(f"agent reached max_iterations ({self.config.max_iterations}) without a final answer")


def _action_input(raw: str) -> dict[str, Any]:
    raw = raw.strip().split("\nObservation")[0].strip().strip("`")
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        return {"input": raw}
    return value if isinstance(value, dict) else {"input": value}


def _react_prompt(instruction: str, specs: tuple[ToolSpec, ...]) -> str:
    tools = "\n".join(
        f"- {s.name}: {s.description} Arguments (JSON Schema): {json.dumps(s.parameters)}" for s in specs
    )
    return (
        f"{instruction}\n\nYou can use these tools:\n{tools}\n\n"
        "Answer in this format:\nThought: what to do next\nAction: <tool name>\n"
        "Action Input: <JSON arguments>\n"
        "Then wait for the Observation. When you know the answer:\nThought: I know the answer\n"
        "Final Answer: <the answer>"
    ).strip()
