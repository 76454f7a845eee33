"""Dify ``tool`` nodes: built-in tools map onto ours by provider and tool name; the others are reported."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest

from llmops.studio.dify import convert_dify
from tests.studio import dify_samples as samples
from tests.studio.dify_samples import dify_file, edge, node
from tests.workflows._tool_services import FakeServices, RoutedHttpClient, fake_services
from workflows import DefaultToolRegistry, Executor, Ports, builtin_tools

STEP = "1718000000501"
OTHER = "1718000000502"


def tool_node(node_id: str, title: str, provider: str, tool: str, **data: Any) -> dict[str, Any]:
    """A tool node as Dify 0.x exports it (plugin-era files prefix ``provider_id`` with ``langgenius/``)."""
    fields = {
        "provider_id": provider, "provider_name": provider.split("/")[-1], "provider_type": "builtin",
        "tool_label": title, "tool_name": tool, "tool_configurations": {}, "tool_parameters": {},
    }  # fmt: skip
    return node(node_id, "tool", title, **{**fields, **data})


def tool_file(*tools: dict[str, Any], outputs: dict[str, list[str]] | None = None) -> str:
    """start(text) -> each tool in turn -> end(outputs)."""
    start = node(
        samples.START,
        "start",
        "Start",
        variables=[{"variable": "text", "type": "text-input", "label": "Text"}],
    )
    end = node(samples.END, "end", "End", outputs=[
        {"variable": name, "value_selector": selector} for name, selector in (outputs or {}).items()
    ])  # fmt: skip
    chain = [samples.START, *(t["id"] for t in tools), samples.END]
    return dify_file("workflow", [start, *tools, end], [edge(a, b) for a, b in pairwise(chain)])


def converted(
    *tools: dict[str, Any], outputs: dict[str, list[str]] | None = None
) -> tuple[dict[str, Any], Any]:
    conversion = convert_dify(tool_file(*tools, outputs=outputs))
    assert conversion.ok, conversion.report.to_dict()
    assert conversion.workflow is not None
    ours = {n["id"]: n for n in conversion.workflow["nodes"]}
    return {theirs: ours[mine] for theirs, mine in conversion.report.node_ids.items()}, conversion


WIKIPEDIA = tool_node(
    STEP, "Wikipedia", "wikipedia", "wikipedia_search",
    tool_configurations={"language": "en"},
    tool_parameters={"query": {"type": "mixed", "value": "{{#1718000000001.text#}} (animal)"}},
)  # fmt: skip
TIME_PLUGIN = tool_node(
    OTHER, "Current Time", "langgenius/time/time", "current_time",
    plugin_unique_identifier="langgenius/time:0.0.4@9f5ae6c1e4e6f1d5c0f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2",
    tool_node_version="2",
    tool_configurations={"format": {"type": "constant", "value": "%Y-%m-%d"}, "timezone": {"type": "constant", "value": "Asia/Tokyo"}},
)  # fmt: skip


def test_wikipedia_and_plugin_era_time_tools_map_onto_ours() -> None:
    nodes, conversion = converted(
        WIKIPEDIA,
        TIME_PLUGIN,
        outputs={"found": [STEP, "text"], "pages": [STEP, "json"], "today": [OTHER, "text"]},
    )
    assert nodes[STEP]["type"] == "tool"
    assert nodes[STEP]["config"] == {
        "tool": "wikipedia_search",
        "arguments": {"language": "en", "query": "{{ start.text }} (animal)"},
    }
    assert nodes[OTHER]["config"] == {
        "tool": "current_time",
        "arguments": {"format": "%Y-%m-%d", "timezone": "Asia/Tokyo"},
    }
    outputs = nodes[samples.END]["config"]["outputs"]
    assert outputs == {"found": "wikipedia.text", "pages": "wikipedia.result", "today": "current_time.text"}
    assert not conversion.report.unsupported


@pytest.mark.parametrize(
    ("provider", "tool", "data", "expected"),
    [
        (
            "json_process", "parse",
            {"tool_parameters": {
                "content": {"type": "variable", "value": ["1718000000001", "text"]},
                "json_filter": {"type": "mixed", "value": "$.items[0].name"},
            }},
            {"tool": "json_parse", "arguments": {"content": "{{ start.text }}", "path": "$.items[0].name"}},
        ),
        (
            "json_process", "replace",
            {"tool_parameters": {
                "content": {"type": "variable", "value": ["1718000000001", "text"]},
                "query": {"type": "mixed", "value": "$.name"},
                "replace_value": {"type": "mixed", "value": "Ada"},
                "replace_model": {"type": "mixed", "value": "value"},
                "replace_pattern": {"type": "mixed", "value": ""},
            }},
            {"tool": "json_replace", "arguments": {"content": "{{ start.text }}", "path": "$.name", "value": "Ada", "mode": "value"}},
        ),
        (
            "maths", "eval_expression",
            {"tool_parameters": {"expression": {"type": "mixed", "value": "{{#1718000000001.text#}} * 2"}}},
            {"tool": "calculator", "arguments": {"expression": "{{ start.text }} * 2"}},
        ),
        (
            "time", "timezone_conversion",
            {"tool_parameters": {
                "current_time": {"type": "mixed", "value": "2024-07-01 09:30:00"},
                "current_timezone": {"type": "constant", "value": "Europe/Paris"},
                "target_timezone": {"type": "constant", "value": "Asia/Tokyo"},
            }},
            {"tool": "convert_time_zone", "arguments": {
                "time": "2024-07-01 09:30:00", "from_timezone": "Europe/Paris", "to_timezone": "Asia/Tokyo"}},
        ),
        (
            "langgenius/duckduckgo/duckduckgo", "ddgo_search",
            {"tool_configurations": {"max_results": "5", "require_summary": 0},
             "tool_parameters": {"query": {"type": "variable", "value": ["1718000000001", "text"]}}},
            {"tool": "duckduckgo_search", "arguments": {"max_results": 5, "query": "{{ start.text }}"}},
        ),
        (
            "searxng", "searxng_search",
            {"tool_configurations": {"search_type": "news", "engines": "bing", "time_range": ""},
             "tool_parameters": {"query": {"type": "mixed", "value": "{{#1718000000001.text#}}"}}},
            {"tool": "searxng_search", "arguments": {"category": "news", "query": "{{ start.text }}"}},
        ),
        (
            "google_translate", "translate",
            {"tool_parameters": {"content": {"type": "mixed", "value": "{{#1718000000001.text#}}"},
                                 "dest": {"type": "constant", "value": "zh"}}},
            {"tool": "translate", "arguments": {"text": "{{ start.text }}", "target_language": "zh"}},
        ),
        (
            "duckduckgo", "ddgo_translate",
            {"tool_parameters": {"query": {"type": "mixed", "value": "{{#1718000000001.text#}}"},
                                 "translate_to": {"type": "constant", "value": "en"}}},
            {"tool": "translate", "arguments": {"text": "{{ start.text }}", "target_language": "en"}},
        ),
    ],
    ids=["json-parse", "json-replace", "maths", "timezone-conversion", "duckduckgo-plugin", "searxng",
         "google-translate", "duckduckgo-translate"],
)  # fmt: skip
def test_builtin_tools_map_with_renamed_parameters(
    provider: str, tool: str, data: dict[str, Any], expected: dict[str, Any]
) -> None:
    nodes, _ = converted(tool_node(STEP, "Tool", provider, tool, **data))
    assert nodes[STEP]["config"] == expected


def test_credentialed_tools_map_with_coerced_constants_and_warnings() -> None:
    tavily = tool_node(
        STEP, "Tavily", "tavily", "tavily_search",
        tool_configurations={"search_depth": "advanced", "max_results": 3, "include_answer": "true",
                             "include_domains": "wikipedia.org britannica.com", "include_images": True},
        tool_parameters={"query": {"type": "mixed", "value": "{{#1718000000001.text#}}"}},
    )  # fmt: skip
    nodes, conversion = converted(tavily)
    assert nodes[STEP]["config"]["arguments"] == {
        "search_depth": "advanced",
        "max_results": 3,
        "include_answer": True,
        "include_domains": ["wikipedia.org", "britannica.com"],
        "query": "{{ start.text }}",
    }
    warnings = [w.message for w in conversion.report.warnings]
    assert "parameter 'include_images' dropped: images are not returned" in warnings
    assert "tavily_search needs the Tavily tool provider set up in this workspace (credentials)" in warnings


def test_a_summary_dify_would_generate_is_a_warning() -> None:
    scraper = tool_node(
        STEP, "Scraper", "webscraper", "webscraper",
        tool_parameters={"url": {"type": "mixed", "value": "{{#1718000000001.text#}}"},
                         "user_agent": {"type": "mixed", "value": ""},
                         "generate_summary": {"type": "constant", "value": True}},
    )  # fmt: skip
    nodes, conversion = converted(scraper)
    assert nodes[STEP]["config"] == {"tool": "web_reader", "arguments": {"url": "{{ start.text }}"}}
    assert [w.message for w in conversion.report.warnings] == [
        "parameter 'generate_summary' dropped: no summary is generated: follow the tool with an llm node"
    ]


def test_literal_jinja_in_a_constant_stays_literal() -> None:
    parse = tool_node(
        STEP, "Parse", "json_process", "parse",
        tool_parameters={"content": {"type": "constant", "value": '{"t": "{{ not a template }}"}'},
                         "json_filter": {"type": "constant", "value": "$.t"}},
    )  # fmt: skip
    nodes, _ = converted(parse)
    assert nodes[STEP]["config"]["arguments"]["content"] == '{"t": "{{ \'{{\' }} not a template }}"}'


def test_tools_without_equivalent_are_reported_by_provider_and_name() -> None:
    # given a built-in without equivalent, a custom API tool, an MCP tool and a workflow tool
    tools = [
        tool_node("1718000000511", "Google", "google", "google_search"),
        tool_node("1718000000512", "Weekday", "langgenius/time/time", "weekday"),
        tool_node("1718000000513", "Petstore", "6f1c2b3a-1d2e-4f50-8a9b-0c1d2e3f4a5b", "getPetById",
                  provider_name="petstore", provider_type="api"),
        tool_node("1718000000514", "MCP", "https://mcp.example.com/mcp", "lookup", provider_type="mcp"),
        tool_node("1718000000515", "Sub", "9b8a7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d", "summarise", provider_type="workflow"),
    ]  # fmt: skip
    # when
    conversion = convert_dify(tool_file(*tools))
    # then nothing is created and each is reported with its provider and tool names
    assert not conversion.ok
    reasons = {u.node_id: u.reason for u in conversion.report.unsupported}
    assert reasons["1718000000511"].startswith("tool google/google_search has no built-in equivalent here")
    assert "time/current_time" in reasons["1718000000511"]
    assert reasons["1718000000512"].startswith("tool time/weekday has no built-in equivalent")
    assert reasons["1718000000513"].startswith(
        "tool 6f1c2b3a-1d2e-4f50-8a9b-0c1d2e3f4a5b/getPetById (api): custom API tools are not imported"
    )
    assert "(mcp): MCP tools are not imported" in reasons["1718000000514"]
    assert "(workflow): workflows published as tools have no equivalent" in reasons["1718000000515"]


def test_a_bad_constant_is_reported() -> None:
    search = tool_node(
        STEP, "Search", "duckduckgo", "ddgo_search",
        tool_configurations={"max_results": "many"},
        tool_parameters={"query": {"type": "mixed", "value": "llamas"}},
    )  # fmt: skip
    conversion = convert_dify(tool_file(search))
    assert [u.reason for u in conversion.report.unsupported] == [
        "parameter 'max_results': 'many' is not a integer"
    ]


@pytest.fixture(scope="module")
def services() -> Iterator[FakeServices]:
    with fake_services() as running:
        yield running


def test_an_imported_tool_workflow_runs_against_the_services(services: FakeServices) -> None:
    # given a Dify workflow: search Wikipedia for the input, then convert a fixed time between zones
    convert = tool_node(
        OTHER, "Convert", "time", "timezone_conversion",
        tool_parameters={"current_time": {"type": "mixed", "value": "2024-07-01 09:30:00"},
                         "current_timezone": {"type": "constant", "value": "Europe/Paris"},
                         "target_timezone": {"type": "constant", "value": "Asia/Tokyo"}},
    )  # fmt: skip
    conversion = convert_dify(
        tool_file(
            WIKIPEDIA,
            convert,
            outputs={"found": [STEP, "text"], "pages": [STEP, "json"], "tokyo": [OTHER, "text"]},
        )
    )
    assert conversion.workflow is not None
    # when it runs with the built-in tools (their services faked on loopback)
    registry = DefaultToolRegistry(builtin_tools(RoutedHttpClient(services)))
    result = asyncio.run(
        Executor(conversion.workflow, ports=Ports(tools=registry)).run_to_completion(
            "run-1", {"text": "llama"}
        )
    )
    # then
    assert result.status == "succeeded", result
    assert services.seen["en.wikipedia.org"]["query"]["gsrsearch"] == "llama (animal)"
    assert result.outputs["pages"][0]["title"] == "Llama"
    assert result.outputs["found"].startswith("## Llama\nhttps://en.wikipedia.org/wiki/Llama")
    assert result.outputs["tokyo"] == "2024-07-01 16:30:00 JST"
