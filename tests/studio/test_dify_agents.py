"""Dify ``agent`` nodes: Dify's own strategies (function calling, ReAct) with built-in tools become our agent
node; other plugins' strategies and tools with no equivalent are reported."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

from llmops.studio.dify import convert_dify
from tests.studio import dify_samples as samples
from tests.studio.dify_samples import dify_file, edge, node

AGENT = "1718000000601"
CORPUS = Path(__file__).resolve().parents[1] / "data" / "dify" / "corpus"


def constant(value: Any) -> dict[str, Any]:
    return {"type": "constant", "value": value}


def dify_tool(provider: str, tool: str, *, enabled: bool = True, **settings: Any) -> dict[str, Any]:
    return {"enabled": enabled, "provider_name": provider, "tool_name": tool, "type": "builtin",
            "parameters": {}, "settings": {k: {"value": v} for k, v in settings.items()}}  # fmt: skip


def agent_file(
    strategy: str = "function_calling", provider: str = "langgenius/agent/agent", **params: Any
) -> str:
    """start(text) -> agent -> end(answer = agent.text)."""
    start = node(samples.START, "start", "Start",
                 variables=[{"variable": "text", "type": "text-input", "label": "Text"}])  # fmt: skip
    parameters = {
        "model": constant({"provider": "langgenius/openai/openai", "model": "gpt-4o-mini", "mode": "chat",
                           "completion_params": {}, "model_type": "llm", "type": "model-selector"}),
        "instruction": constant("用工具回答。Answer with the tools."),
        "query": constant("{{#" + samples.START + ".text#}}"),
        "tools": constant([dify_tool("time", "current_time", timezone="UTC"),
                           dify_tool("langgenius/maths/maths", "eval_expression"),
                           dify_tool("openweather", "weather", enabled=False)]),
        "maximum_iterations": constant(4),
        **params,
    }  # fmt: skip
    agent = node(AGENT, "agent", "Agent", agent_strategy_provider_name=provider, agent_strategy_name=strategy,
                 agent_strategy_label=strategy, agent_parameters=parameters)  # fmt: skip
    end = node(samples.END, "end", "End", outputs=[{"variable": "answer", "value_selector": [AGENT, "text"]}])
    chain = [samples.START, AGENT, samples.END]
    return dify_file("workflow", [start, agent, end], [edge(a, b) for a, b in pairwise(chain)])


def our_agent(document: str) -> tuple[dict[str, Any], Any]:
    conversion = convert_dify(document)
    assert conversion.ok, conversion.report.to_dict()
    assert conversion.workflow is not None
    mine = conversion.report.node_ids[AGENT]
    return next(n for n in conversion.workflow["nodes"] if n["id"] == mine), conversion.report


def test_a_function_calling_agent_imports_with_its_tools_model_and_limits() -> None:
    agent, report = our_agent(agent_file())
    config = agent["config"]
    assert agent["type"] == "agent"
    assert config["strategy"] == "function_calling" and config["max_iterations"] == 4
    assert config["tools"] == ["current_time", "calculator"]  # the disabled weather tool is left out
    assert config["model"] == "openai/gpt-4o-mini"
    assert config["instruction"] == "用工具回答。Answer with the tools."
    assert config["query"] == "{{ start.text }}"
    warnings = " ".join(w["message"] for w in report.to_dict()["warnings"])
    assert "current_time: Dify's fixed settings (timezone) are left to the model" in warnings
    assert {b["reference"] for b in report.to_dict()["bindings"]} >= {"openai/gpt-4o-mini"}


def test_a_react_agent_imports_as_react() -> None:
    agent, _ = our_agent(agent_file("ReAct"))
    assert agent["config"]["strategy"] == "react"


def test_another_plugins_strategy_and_unmapped_tools_are_reported() -> None:
    other = convert_dify(agent_file("TOD", provider="svcvit/agent/agent"))
    assert not other.ok
    assert "agent strategy 'TOD' of plugin svcvit/agent/agent has no equivalent" in str(
        other.report.to_dict()
    )
    unmapped = convert_dify(agent_file(tools=constant([dify_tool("google", "google_search")])))
    assert not unmapped.ok
    assert "agent tool google/google_search (builtin) has no built-in equivalent here" in str(
        unmapped.report.to_dict()
    )


def test_a_real_dify_agent_chatflow_imports() -> None:
    # tests/data/dify/corpus/awesome-agent-tool-calling.yml (see SOURCES.md): time and DuckDuckGo tools
    conversion = convert_dify((CORPUS / "awesome-agent-tool-calling.yml").read_text(encoding="utf-8"))
    assert conversion.ok, conversion.report.to_dict()
    assert conversion.workflow is not None
    (agent,) = [n for n in conversion.workflow["nodes"] if n["type"] == "agent"]
    assert agent["config"]["tools"] == ["current_time", "duckduckgo_search"]
