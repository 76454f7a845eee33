"""agent: a model calling tools until it can answer (function calling or ReAct), within max_iterations."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from workflows._errors import NodeError, ToolError
from workflows._events import AgentStep
from workflows._ports import ChatMessage, ChatRequest, ToolCall, ToolRegistry, ToolSpec, Usage
from workflows.nodes._base import NodeContext, NodeKind, NodeResult, Template
from workflows.nodes._llm import Memory, ModelSettings, call_model, with_memory
from workflows.tools import unknown_tool_error

_ACTION = re.compile(r"Action\s*:\s*(?P<name>[\w.-]+)\s*\n\s*Action Input\s*:\s*(?P<input>.*)", re.DOTALL)
_FINAL = re.compile(r"Final Answer\s*:\s*(?P<answer>.*)", re.DOTALL)
_THOUGHT = re.compile(r"Thought\s*:\s*(?P<thought>.*?)(?=\n\s*(?:Action|Final Answer)\s*:|$)", re.DOTALL)


class AgentConfig(ModelSettings):
    """``tools`` names registry tools (empty: all of them)."""

    instruction: Template = ""
    query: Template
    tools: list[str] = Field(default_factory=list)
    strategy: Literal["function_calling", "react"] = "function_calling"
    max_iterations: int = Field(default=5, ge=1, le=50)
    memory: Memory | None = None


class AgentNode(NodeKind[AgentConfig]):
    """Outputs ``text`` (the final answer), ``iterations``, ``tool_calls`` (name, arguments, result) and
    ``steps`` (thought, tool, arguments, observation; the last one the answer), each step also an
    ``agent_step`` event as it happens."""

    type = "agent"
    config_model = AgentConfig
    description = "Answers using tools (function calling or ReAct)."

    def outputs(self, config: AgentConfig) -> Mapping[str, str] | None:
        return {"text": "string", "iterations": "number", "tool_calls": "array", "steps": "array"}

    async def run(self, config: AgentConfig, ctx: NodeContext) -> NodeResult:
        registry: ToolRegistry = ctx.port("tools")
        specs = _specs(config, registry)
        run = _AgentRun(config, ctx, registry, specs)
        text = await (run.react() if config.strategy == "react" else run.function_calling())
        ctx.stream_text(text)
        run.step("", answer=text)
        outputs = {"text": text, "iterations": run.iterations, "tool_calls": run.calls, "steps": run.steps}
        return NodeResult(outputs, usage=run.usage)


def _specs(config: AgentConfig, registry: ToolRegistry) -> tuple[ToolSpec, ...]:
    if not config.tools:
        return tuple(registry.list_tools())
    specs = []
    for name in config.tools:
        spec = registry.get(name)
        if spec is None:
            raise unknown_tool_error(name)
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
        self.steps: list[dict[str, Any]] = []
        self.thought = ""  # what the model said before its next tool call (function calling: its text)

    def step(self, thought: str, *, answer: str | None = None, **call: Any) -> None:
        """Record one step in ``steps`` and publish it as an ``agent_step`` event."""
        event = AgentStep(run_id=self.ctx.call.run_id, node_id=self.ctx.node.id, index=len(self.steps),
                          thought=thought, answer=answer, **call)  # fmt: skip
        record = {k: v for k, v in event.to_dict().items() if k not in ("type", "run_id", "at", "node_id")}
        self.steps.append(record)
        self.ctx.emit(event)

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

    async def _invoke(self, name: str, arguments: dict[str, Any], thought: str = "") -> str:
        failed = False
        try:
            result = await self.registry.invoke(name, arguments, self.ctx.call)
            text = result.text
        except ToolError as exc:  # shown to the model so it can correct itself
            text, failed = f"error: {exc}", True
        self.calls.append({"name": name, "arguments": arguments, "result": text})
        self.step(thought, tool=name, arguments=arguments, observation=text, error=failed)
        return text

    async def function_calling(self) -> str:
        messages = self._messages(self.ctx.render(self.config.instruction))
        for _ in range(self.config.max_iterations):
            result = await self._chat(messages, self.specs)
            calls = result.tool_calls or _text_tool_calls(str(result.text or ""), self.specs, self.iterations)
            if not calls:
                if str(result.text or "").strip() or not self.calls:
                    return str(result.text)
                # Small models sometimes end with nothing after their tool calls: ask once for the answer,
                # without tools, from the observations already in the conversation.
                messages.append(ChatMessage("user", "Answer the question now, using the tool results above."))
                return str((await self._chat(messages, ())).text)
            text = "" if not result.tool_calls else result.text  # a call written as text is not a thought
            messages.append(ChatMessage("assistant", text, tool_calls=calls))
            thought = str(text or "")
            for call in calls:
                output = await self._invoke(call.name, call.arguments, thought)
                thought = ""  # the model's text goes with the first call of its turn
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
            thought = _THOUGHT.search(text[: action.start()])
            observation = await self._invoke(
                action.group("name"),
                _action_input(action.group("input")),
                thought.group("thought").strip() if thought else text[: action.start()].strip(),
            )
            messages.append(ChatMessage("assistant", text[: action.end()]))
            messages.append(ChatMessage("user", f"Observation: {observation}"))
        raise NodeError(f"agent reached max_iterations ({self.config.max_iterations}) without a final answer")


_CALL_BLOCKS = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>|```(?:json)?\s*(.*?)\s*```", re.DOTALL)


def _text_tool_calls(text: str, specs: tuple[ToolSpec, ...], turn: int) -> tuple[ToolCall, ...]:
    """Tool calls a small model wrote as text instead of using the protocol: a JSON object (or a list of them)
    naming one of the offered tools, alone or in a ```json fence or <tool_call> tags (Qwen, Hermes). Anything
    else is an answer."""
    names = {spec.name for spec in specs}
    blocks = [a or b for a, b in _CALL_BLOCKS.findall(text)] or [text.strip()]
    calls: list[ToolCall] = []
    for block in blocks:
        try:
            value = json.loads(block)
        except (json.JSONDecodeError, RecursionError):
            return ()
        for item in value if isinstance(value, list) else [value]:
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("name"), str)
                or item["name"] not in names
            ):
                return ()
            arguments = item.get("arguments", item.get("parameters", {}))
            if isinstance(arguments, str):
                try:
                    arguments = json.loads(arguments)
                except (json.JSONDecodeError, RecursionError):
                    return ()
            if not isinstance(arguments, dict):
                return ()
            calls.append(ToolCall(f"text-{turn}-{len(calls)}", item["name"], arguments))
    return tuple(calls)


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
