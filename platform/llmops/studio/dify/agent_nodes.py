"""Dify ``agent`` nodes onto our ``agent`` node.

A Dify agent node runs an agent *strategy* from a plugin (``agent_strategy_provider_name``, e.g.
``langgenius/agent/agent``) with its ``agent_parameters``, each ``{type, value}``: ``model`` (a model
selector), ``tools`` (a list of tools, each with ``provider_name``, ``tool_name``, ``enabled``, fixed
``settings`` and model-filled ``parameters``), ``instruction``, ``query`` and ``maximum_iterations``. Dify's own
strategies, ``function_calling`` and ``ReAct``, are ours; strategies of other plugins are reported. Tools map as
tool nodes do (``tool_nodes.MAPPINGS``); an enabled tool with no equivalent is reported by provider and name,
and a tool's fixed settings are left to the model (with a warning), since our agents offer whole tools.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmops.studio.dify.context import UNMAPPED, Mapped, NodeMapper
from llmops.studio.dify.tool_nodes import MAPPINGS
from workflows import BUILTIN_PROVIDERS

_STRATEGIES = {
    "function_calling": "function_calling",
    "functioncalling": "function_calling",
    "react": "react",
}
_DIFY_AGENT_PLUGIN = "langgenius/agent"
_DEFAULT_ITERATIONS = 5


def _parameter(m: NodeMapper, name: str) -> Any:
    value = (m.data.get("agent_parameters") or {}).get(name)
    return value.get("value") if isinstance(value, Mapping) else value


def agent(m: NodeMapper) -> Mapped | None:
    """An agent node with Dify's strategy, model, tools, instruction, query, iterations and memory."""
    provider = str(m.data.get("agent_strategy_provider_name") or "")
    name = str(m.data.get("agent_strategy_name") or "")
    strategy = _STRATEGIES.get(name.lower())
    if not provider.startswith(_DIFY_AGENT_PLUGIN) or strategy is None:
        label = m.data.get("agent_strategy_label") or name
        m.fail(f"agent strategy {label!r} of plugin {provider or '?'} has no equivalent "
               "(Dify's function_calling and ReAct strategies are imported)")  # fmt: skip
        return None
    config: dict[str, Any] = {
        "model": _model(m),
        "strategy": strategy,
        "tools": _tools(m),
        "instruction": m.template(_parameter(m, "instruction") or "", "instruction"),
        "query": m.template(_parameter(m, "query") or "{{#sys.query#}}", "query"),
        "max_iterations": _iterations(m),
    }
    memory = m.data.get("memory") or _parameter(m, "memory")
    if isinstance(memory, Mapping):
        window = (memory.get("window") or {}) if isinstance(memory.get("window"), Mapping) else {}
        config["memory"] = {"window": max(1, min(int(window.get("size") or 10), 200))}
    return Mapped("agent", config)


def _model(m: NodeMapper) -> str:
    model = _parameter(m, "model") or {}
    if not (model.get("model") or model.get("name")):
        m.fail("model: no model is selected")
        return UNMAPPED
    return m.model(value=model)[0]


def _iterations(m: NodeMapper) -> int:
    raw = _parameter(m, "maximum_iterations")
    try:
        return max(1, min(int(raw), 50)) if raw not in (None, "") else _DEFAULT_ITERATIONS
    except (TypeError, ValueError):
        m.warn(f"maximum_iterations {raw!r} is not a number: {_DEFAULT_ITERATIONS} is used")
        return _DEFAULT_ITERATIONS


def _tools(m: NodeMapper) -> list[str]:
    names: list[str] = []
    for item in _parameter(m, "tools") or []:
        if not isinstance(item, Mapping) or not item.get("enabled", True):
            continue
        provider = str(item.get("provider_name") or "").rstrip("/").split("/")[-1]
        tool = str(item.get("tool_name") or "")
        kind = str(item.get("type") or "builtin")
        mapping = MAPPINGS.get((provider, tool)) if kind == "builtin" else None
        if mapping is None:
            m.fail(f"agent tool {provider}/{tool} ({kind}) has no built-in equivalent here")
            continue
        if mapping.tool not in names:
            names.append(mapping.tool)
        settings = {k: v for k, v in (item.get("settings") or {}).items() if v not in (None, "", {})}
        if settings:
            m.warn(
                f"{mapping.tool}: Dify's fixed settings ({', '.join(sorted(settings))}) are left to the model"
            )
        if mapping.provider is not None:
            label = BUILTIN_PROVIDERS[mapping.provider].label
            m.warn(f"{mapping.tool} needs the {label} tool provider set up in this workspace (credentials)")
    if not names:
        m.warn("the agent has no tools: it answers from the model alone")
    return names
