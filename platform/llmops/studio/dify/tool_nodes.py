"""Dify ``tool`` nodes onto our ``tool`` node, for Dify's built-in tools that have an equivalent here.

A Dify tool node names its tool by provider and tool (``provider_id: wikipedia``, ``tool_name:
wikipedia_search``; plugin-era exports write ``langgenius/wikipedia/wikipedia``) and passes arguments two
ways: ``tool_parameters`` (``mixed``: a template, ``variable``: a selector, ``constant``: a value) and
``tool_configurations`` (form settings: plain values, or ``{type, value}`` in newer files). Both become our
node's ``arguments`` under our parameter names; constants are coerced to the types our tool's schema asks.
Tools with no equivalent (custom API, workflow and MCP tools, other built-ins) are reported by provider and
tool name. Dify's ``json`` output is our ``result`` (see ``references.output_renames``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmops.studio.dify.context import Mapped, NodeMapper
from llmops.studio.dify.references import escape_literal
from workflows import BUILTIN_PROVIDERS, HttpRequest, HttpResponse, builtin_tools


@dataclass(frozen=True, slots=True)
class ToolMapping:
    """One Dify tool as ours: its name, Dify parameter -> ours, and Dify parameters dropped (with why)."""

    tool: str
    renames: Mapping[str, str]
    dropped: Mapping[str, str] = field(default_factory=dict)
    provider: str | None = None  # our credentialed provider the workspace must configure


_SEARCH = {"query": "query"}
MAPPINGS: dict[tuple[str, str], ToolMapping] = {
    ("time", "current_time"): ToolMapping("current_time", {"timezone": "timezone", "format": "format"}),
    ("time", "timezone_conversion"): ToolMapping(
        "convert_time_zone",
        {"current_time": "time", "current_timezone": "from_timezone", "target_timezone": "to_timezone"},
    ),
    ("maths", "eval_expression"): ToolMapping("calculator", {"expression": "expression"}),
    ("webscraper", "webscraper"): ToolMapping(
        "web_reader",
        {"url": "url"},
        {
            "user_agent": "the page is read with this platform's user agent",
            "generate_summary": "no summary is generated: follow the tool with an llm node",
        },
    ),
    ("duckduckgo", "ddgo_search"): ToolMapping(
        "duckduckgo_search",
        {**_SEARCH, "max_results": "max_results"},
        {
            "require_summary": "no summary is generated: follow the tool with an llm node",
            "result_type": "every result has its title, URL and snippet",
        },
    ),
    ("wikipedia", "wikipedia_search"): ToolMapping("wikipedia_search", {**_SEARCH, "language": "language"}),
    ("tavily", "tavily_search"): ToolMapping(
        "tavily_search",
        {
            **_SEARCH,
            "search_depth": "search_depth",
            "topic": "topic",
            "max_results": "max_results",
            "include_answer": "include_answer",
            "include_domains": "include_domains",
            "exclude_domains": "exclude_domains",
        },
        {
            "include_images": "images are not returned",
            "include_raw_content": "raw page content is not returned",
            "days": "no day limit",
            "time_range": "no time range",
            "include_image_descriptions": "images are not returned",
        },
        provider="tavily",
    ),
    ("searxng", "searxng_search"): ToolMapping(
        "searxng_search",
        {**_SEARCH, "search_type": "category", "time_range": "time_range", "language": "language"},
        {"engines": "the instance's default engines are used"},
        provider="searxng",
    ),
    ("jina", "jina_reader"): ToolMapping(
        "jina_reader",
        {"url": "url", "target_selector": "target_selector", "no_cache": "no_cache"},
        {
            "request_params": "extra request parameters are not sent",
            "wait_for_selector": "Jina waits for the page's load only",
            "image_caption": "images are not captioned",
            "gather_all_links_at_the_end": "links are not gathered",
            "gather_all_images_at_the_end": "images are not gathered",
            "proxy_server": "no proxy is used",
            "summary": "no summary is generated: follow the tool with an llm node",
            "max_retries": "no retries",
        },
        provider="jina",
    ),
    # Dify's translation tools go to DeepL here (the workspace sets up its key): a provider-to-provider move.
    ("google_translate", "translate"): ToolMapping(
        "translate", {"content": "text", "dest": "target_language"}, provider="deepl"
    ),
    ("duckduckgo", "ddgo_translate"): ToolMapping(
        "translate", {"query": "text", "translate_to": "target_language"}, provider="deepl"
    ),
    ("json_process", "parse"): ToolMapping(
        "json_parse", {"content": "content", "json_filter": "path", "ensure_ascii": "ensure_ascii"}
    ),
    ("json_process", "insert"): ToolMapping(
        "json_insert",
        {
            "content": "content",
            "query": "path",
            "new_value": "value",
            "index": "index",
            "create_path": "create_path",
        },
        {"ensure_ascii": "the output keeps non-ASCII characters"},
    ),
    ("json_process", "delete"): ToolMapping(
        "json_delete",
        {"content": "content", "query": "path"},
        {"ensure_ascii": "the output keeps non-ASCII characters"},
    ),
    ("json_process", "replace"): ToolMapping(
        "json_replace",
        {
            "content": "content",
            "query": "path",
            "replace_value": "value",
            "replace_model": "mode",
            "replace_pattern": "pattern",
        },
        {"ensure_ascii": "the output keeps non-ASCII characters"},
    ),
}
_OTHER_KINDS = {
    "api": "custom API tools are not imported: import its OpenAPI document as a tool provider, "
    "then point a tool node at its operation",
    "workflow": "workflows published as tools have no equivalent: call the workflow's deployment with an "
    "http_request node",
    "mcp": "MCP tools are not imported: add the MCP server as a tool provider, then point a tool node at it",
}
# Truthy values of a dropped parameter change Dify's output; falsy ones are the defaults and say nothing.
_FALSY: tuple[Any, ...] = (None, "", False, 0, "0", "false", "False", "None", "none", [], {})


class _NoHttp:
    """Enough of an HttpClient to build the web tools and read their specs; nothing is ever sent."""

    async def request(self, request: HttpRequest) -> HttpResponse:
        raise RuntimeError("the importer never calls a tool")


def _schemas() -> dict[str, dict[str, Any]]:
    specs = [t.spec for t in builtin_tools(_NoHttp())]
    specs += [spec for provider in BUILTIN_PROVIDERS.values() for spec in provider.tools]
    return {spec.name: dict(spec.parameters.get("properties") or {}) for spec in specs}


_PROPERTIES = _schemas()


def provider_key(data: Mapping[str, Any]) -> str:
    """Dify's provider name: ``langgenius/time/time`` and ``time`` are both ``time``."""
    raw = str(data.get("provider_id") or data.get("provider_name") or "")
    return raw.rstrip("/").split("/")[-1]


def tool(m: NodeMapper) -> Mapped | None:
    """A tool node calling our built-in equivalent, or a failure naming the Dify provider and tool."""
    data = m.data
    kind = str(data.get("provider_type") or "builtin")
    provider, name = provider_key(data), str(data.get("tool_name") or "")
    where = f"tool {provider}/{name}"
    if kind != "builtin":
        m.fail(f"{where} ({kind}): {_OTHER_KINDS.get(kind, 'this kind of tool has no equivalent')}")
        return None
    mapping = MAPPINGS.get((provider, name))
    if mapping is None:
        m.fail(f"{where} has no built-in equivalent here (mapped: {_known()})")
        return None
    arguments: dict[str, Any] = {}
    for dify_name, value in _parameters(data).items():
        _argument(m, mapping, dify_name, value, arguments)
    if mapping.provider is not None:
        label = BUILTIN_PROVIDERS[mapping.provider].label
        m.warn(f"{mapping.tool} needs the {label} tool provider set up in this workspace (credentials)")
    return Mapped("tool", {"tool": mapping.tool, "arguments": arguments})


def _parameters(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Configurations then parameters (parameters win), each as ``{"type", "value"}``."""
    merged: dict[str, dict[str, Any]] = {}
    for source in ("tool_configurations", "tool_parameters"):
        for name, value in (data.get(source) or {}).items():
            is_typed = isinstance(value, Mapping) and "type" in value and "value" in value
            merged[str(name)] = dict(value) if is_typed else {"type": "constant", "value": value}
    return merged


def _argument(
    m: NodeMapper, mapping: ToolMapping, dify_name: str, item: dict[str, Any], out: dict[str, Any]
) -> None:
    kind, value = str(item.get("type") or "constant"), item.get("value")
    if value in (None, "") or (kind == "variable" and not value):
        return  # an optional parameter left empty
    ours = mapping.renames.get(dify_name)
    if ours is None:
        if dify_name in mapping.dropped:
            if kind != "constant" or value not in _FALSY:
                m.warn(f"parameter {dify_name!r} dropped: {mapping.dropped[dify_name]}")
        else:
            m.warn(f"parameter {dify_name!r} has no equivalent in {mapping.tool} and was dropped")
        return
    what = f"parameter {dify_name!r}"
    if kind == "variable":
        out[ours] = m.placeholder(value, what)
    elif kind == "mixed":
        out[ours] = m.template(value, what)
    else:
        out[ours] = _constant(m, _PROPERTIES[mapping.tool].get(ours, {}), value, what)


def _constant(m: NodeMapper, schema: Mapping[str, Any], value: Any, what: str) -> Any:
    """A Dify constant as our schema wants it (Dify stores numbers and lists as text in form fields)."""
    kind = schema.get("type")
    try:
        if kind == "integer" and not isinstance(value, bool):
            return int(float(value))
        if kind == "number" and not isinstance(value, bool):
            return float(value)
        if kind == "boolean":
            return value if isinstance(value, bool) else str(value).lower() in ("true", "1", "yes")
        if kind == "array" and isinstance(value, str):
            return [part for part in re.split(r"[,\s]+", value) if part]  # Dify splits on spaces or commas
    except (TypeError, ValueError):
        m.fail(f"{what}: {value!r} is not a {kind}")
        return value
    if isinstance(value, str):
        return escape_literal(value)  # our string arguments are templates: keep Dify's text literal
    return value


def _known() -> str:
    return ", ".join(f"{provider}/{name}" for provider, name in MAPPINGS)
