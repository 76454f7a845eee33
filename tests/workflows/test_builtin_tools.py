"""The built-in tools, through the registry, against local fakes of their services (no internet here)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from tests.workflows._tool_services import (
    DEEPL_KEY,
    JINA_KEY,
    TAVILY_KEY,
    FakeServices,
    RoutedHttpClient,
    fake_services,
)
from workflows import (
    BUILTIN_PROVIDERS,
    CallContext,
    DefaultToolRegistry,
    GuardedHttpClient,
    Tool,
    ToolError,
    ToolResult,
    ToolSpec,
    builtin_tools,
    provider_tools,
)

CTX = CallContext(run_id="run-1", node_id="agent")


@pytest.fixture(scope="module")
def services() -> Iterator[FakeServices]:
    with fake_services() as running:
        yield running


@pytest.fixture
def registry(services: FakeServices) -> DefaultToolRegistry:
    return DefaultToolRegistry(builtin_tools(http=RoutedHttpClient(services)), builtins=False)


def credentialed(services: FakeServices, provider: str, **credentials: str) -> DefaultToolRegistry:
    return DefaultToolRegistry(
        provider_tools(provider, credentials, RoutedHttpClient(services)), builtins=False
    )


async def call(registry: DefaultToolRegistry, name: str, **arguments: Any) -> ToolResult:
    return await registry.invoke(name, arguments, CTX)


# --- the catalogue ---------------------------------------------------------------------------------------


def test_builtin_tools_without_http_need_no_network() -> None:
    names = {tool.spec.name for tool in builtin_tools()}
    assert {"calculator", "current_time", "convert_time_zone", "json_parse", "json_replace"} <= names
    assert not names & {"web_reader", "duckduckgo_search", "wikipedia_search"}


def test_every_tool_has_a_closed_schema_a_description_and_limits(services: FakeServices) -> None:
    http = RoutedHttpClient(services)
    tools = builtin_tools(http) + [
        t for name in BUILTIN_PROVIDERS for t in provider_tools(name, _good_credentials(name), http)
    ]
    assert len({t.spec.name for t in tools}) == len(tools)
    for tool in tools:
        spec = tool.spec
        assert spec.parameters["type"] == "object" and spec.parameters["additionalProperties"] is False
        assert len(spec.description) > 40
        assert 0 < spec.timeout_seconds <= 60 and 0 < spec.max_output_chars <= 200_000


def test_providers_describe_their_credentials() -> None:
    assert set(BUILTIN_PROVIDERS) == {"tavily", "searxng", "jina", "deepl"}
    searxng = BUILTIN_PROVIDERS["searxng"]
    fields = {f.name: f for f in searxng.credentials}
    assert not fields["base_url"].secret and fields["base_url"].required
    assert fields["api_key"].secret and not fields["api_key"].required
    assert [s.name for s in BUILTIN_PROVIDERS["deepl"].tools] == ["translate"]


def test_unknown_provider_and_missing_credential_are_clear(services: FakeServices) -> None:
    with pytest.raises(ToolError, match="unknown tool provider 'bing'"):
        provider_tools("bing", {}, RoutedHttpClient(services))
    with pytest.raises(ToolError, match="tavily: the credential 'api_key' is not set"):
        provider_tools("tavily", {"api_key": "  "}, RoutedHttpClient(services))


def _good_credentials(provider: str) -> dict[str, str]:
    return {
        "tavily": {"api_key": TAVILY_KEY},
        "searxng": {"base_url": "https://searx.example.org"},
        "jina": {"api_key": JINA_KEY},
        "deepl": {"api_key": DEEPL_KEY},
    }[provider]


# --- time, calculator, JSON ------------------------------------------------------------------------------


async def test_current_time_in_a_zone_with_a_format() -> None:
    registry = DefaultToolRegistry()
    result = await call(registry, "current_time", timezone="Asia/Tokyo", format="%Y-%m-%d")
    assert result.data["utc_offset"] == "+0900"
    assert result.text == datetime.fromisoformat(result.data["time"]).strftime("%Y-%m-%d")


async def test_convert_time_zone_and_list_zones() -> None:
    registry = DefaultToolRegistry()
    result = await call(
        registry,
        "convert_time_zone",
        time="2024-07-01 09:30",
        from_timezone="Europe/Paris",
        to_timezone="Asia/Tokyo",
    )
    assert result.data["to"]["time"] == "2024-07-01T16:30:00+09:00"
    zones = await call(registry, "list_time_zones", contains="kolkata")
    assert zones.data == ["Asia/Kolkata"]


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("current_time", {"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ("convert_time_zone", {"time": "tomorrow", "to_timezone": "UTC"}, "cannot read the time"),
        ("calculator", {"expression": "2 ** 100000"}, "cannot evaluate"),
        ("json_parse", {"content": "{oops", "path": "$.a"}, "content is not valid JSON"),
        ("json_delete", {"content": {"a": 1}, "path": "$.b"}, "nothing in the document at '\\$.b'"),
        ("json_parse", {"content": {}, "path": "$.a["}, "cannot read the path"),
    ],
)
async def test_bad_values_are_tool_errors(name: str, arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ToolError, match=message):
        await call(DefaultToolRegistry(), name, **arguments)


ORDER = '{"id": 7, "customer": {"name": "Ada"}, "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]}'


async def test_json_parse_by_path() -> None:
    registry = DefaultToolRegistry()
    assert (await call(registry, "json_parse", content=ORDER, path="$.customer.name")).text == "Ada"
    assert (await call(registry, "json_parse", content=ORDER, path="items[*].sku")).data == ["a", "b"]
    assert (await call(registry, "json_parse", content=ORDER, path="$.items[-1]['qty']")).data == 2
    assert (await call(registry, "json_parse", content=ORDER, path="$.missing")).data is None


async def test_json_insert_delete_replace() -> None:
    registry = DefaultToolRegistry()
    inserted = await call(
        registry, "json_insert", content=ORDER, path="$.items", value='{"sku": "c"}', index=0
    )
    assert [i["sku"] for i in inserted.data["items"]] == ["c", "a", "b"]
    created = await call(
        registry, "json_insert", content=ORDER, path="$.meta.source", value="web", create_path=True
    )
    assert created.data["meta"] == {"source": "web"}
    deleted = await call(registry, "json_delete", content=ORDER, path="$.items[*].qty")
    assert deleted.data["items"] == [{"sku": "a"}, {"sku": "b"}]
    renamed = await call(
        registry, "json_replace", content=ORDER, path="$.customer.name", value="full_name", mode="key"
    )
    assert renamed.data["customer"] == {"full_name": "Ada"}
    patterned = await call(
        registry,
        "json_replace",
        content=ORDER,
        path="$.customer.name",
        value="Ada L.",
        mode="pattern",
        pattern="Ada",
    )
    assert patterned.data["customer"]["name"] == "Ada L."
    valued = await call(registry, "json_replace", content=ORDER, path="$.items[*].qty", value="0")
    assert [i["qty"] for i in valued.data["items"]] == [0, 0]


# --- schema violations, timeouts, size ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("wikipedia_search", {"query": 3}, "query: 3 is not of type 'string'"),
        ("wikipedia_search", {"query": "x", "language": "evil.com/"}, "language: 'evil.com/' does not match"),
        ("duckduckgo_search", {"query": "x", "max_results": 500}, "max_results: 500 is greater than"),
        ("web_reader", {"link": "https://example.com"}, "'url' is a required property"),
        ("calculator", {"expression": "1", "mode": "fast"}, "Additional properties are not allowed"),
    ],
)
async def test_schema_violations_are_tool_errors(
    registry: DefaultToolRegistry, name: str, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ToolError, match=f"invalid arguments for '{name}'") as caught:
        await call(registry, name, **arguments)
    assert message in str(caught.value)


async def test_a_slow_service_times_out_without_hanging(services: FakeServices) -> None:
    # given the real web reader held to half a second
    reader = next(
        t for t in builtin_tools(GuardedHttpClient(allow=["127.0.0.1"])) if t.spec.name == "web_reader"
    )
    registry = DefaultToolRegistry(
        [Tool(replace(reader.spec, timeout_seconds=0.5), reader.handler)], builtins=False
    )
    started = time.monotonic()
    # when it reads a page that takes 3 s
    with pytest.raises(ToolError, match=r"tool 'web_reader' timed out after 0\.5 s"):
        await call(registry, "web_reader", url=f"{services.base}/slow")
    # then
    assert time.monotonic() - started < 2


async def test_a_50_mb_answer_is_refused_after_the_cap(services: FakeServices) -> None:
    registry = DefaultToolRegistry(builtin_tools(GuardedHttpClient(allow=["127.0.0.1"])), builtins=False)
    started = time.monotonic()
    with pytest.raises(
        ToolError, match=r"web_reader \(127.0.0.1\): request failed: response body larger than 5242880"
    ):
        await call(registry, "web_reader", url=f"{services.base}/huge")
    assert time.monotonic() - started < 10


async def test_the_registry_cuts_long_text_and_refuses_long_data() -> None:
    async def text(arguments: Mapping[str, Any], context: CallContext) -> Any:
        return "word " * 10_000

    async def data(arguments: Mapping[str, Any], context: CallContext) -> Any:
        return {"rows": list(range(10_000))}

    registry = DefaultToolRegistry(
        [
            Tool(ToolSpec("long_text", "t", max_output_chars=1000), text),
            Tool(ToolSpec("long_data", "d", max_output_chars=1000), data),
        ],
        builtins=False,
    )
    result = await call(registry, "long_text")
    assert len(result.text) < 1100 and result.text.endswith(
        "[... cut: output of 'long_text' over 1000 characters]"
    )
    with pytest.raises(ToolError, match="tool 'long_data' returned 58900 characters, over its limit of 1000"):
        await call(registry, "long_data")


async def test_a_crashing_tool_is_a_tool_error() -> None:
    async def broken(arguments: Mapping[str, Any], context: CallContext) -> Any:
        empty: dict[str, Any] = {}
        return empty["missing"]

    registry = DefaultToolRegistry([Tool(ToolSpec("broken", "b"), broken)], builtins=False)
    with pytest.raises(ToolError, match="tool 'broken' failed: KeyError"):
        await call(registry, "broken")


# --- web reader --------------------------------------------------------------------------------------------


async def test_web_reader_returns_the_main_content_as_markdown(services: FakeServices) -> None:
    registry = DefaultToolRegistry(builtin_tools(GuardedHttpClient(allow=["127.0.0.1"])), builtins=False)
    result = await call(registry, "web_reader", url=f"{services.base}/page.html")
    assert result.data["title"] == "Tide tables - Harbour Office"
    content = result.data["content"]
    assert content.startswith("# Tide tables")
    assert f"High water at **06:42** and [18:57]({services.base}/evening) today." in content
    assert "* Neap tides: small range" in content
    for noise in ("tracking", "Home", "Advertisement", "Copyright", "color:red"):
        assert noise not in content
    assert result.text.startswith("# Tide tables - Harbour Office\n\n# Tide tables")


async def test_web_reader_text_mode_plain_text_and_cut(services: FakeServices) -> None:
    registry = DefaultToolRegistry(builtin_tools(GuardedHttpClient(allow=["127.0.0.1"])), builtins=False)
    text = await call(registry, "web_reader", url=f"{services.base}/page.html", format="text")
    assert "High water at\n06:42\nand\n18:57\ntoday." in text.data["content"]
    notes = await call(registry, "web_reader", url=f"{services.base}/notes.txt")
    assert notes.text == "Plain notes: café at 8."
    cut = await call(registry, "web_reader", url=f"{services.base}/page.html", max_chars=100)
    assert cut.data["truncated"] and "[... cut:" in cut.data["content"]
    with pytest.raises(ToolError, match=r"web_reader reads web pages and text; .* is image/png"):
        await call(registry, "web_reader", url=f"{services.base}/logo.png")
    with pytest.raises(ToolError, match="reads http:// and https:// URLs"):
        await call(registry, "web_reader", url="file:///etc/passwd")


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://192.168.1.1/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
    ],
)
async def test_web_reader_refuses_private_addresses(url: str) -> None:
    registry = DefaultToolRegistry(builtin_tools(GuardedHttpClient(allow=["127.0.0.1"])), builtins=False)
    with pytest.raises(
        ToolError, match=r"request failed: address .* is [a-z-]+; add it to the allow-list to reach it"
    ):
        await call(registry, "web_reader", url=url)


async def test_web_reader_on_the_platforms_client_allows_only_the_allowlisted_loopback(
    services: FakeServices, settings: Any
) -> None:
    from llmops.core.outbound import workflow_http_client

    # given the platform's workflow HTTP client, with loopback admitted through its allow-list setting
    settings.LLMOPS_WORKFLOW_HTTP_ALLOWLIST = ["127.0.0.1"]
    registry = DefaultToolRegistry(builtin_tools(workflow_http_client()), builtins=False)
    # then the allow-listed loopback page reads, but a redirect to a private address and other private
    # addresses are refused
    assert (await call(registry, "web_reader", url=f"{services.base}/page.html")).data["title"]
    for url in (f"{services.base}/to-private", "http://10.1.2.3/", "http://127.0.0.2/"):
        with pytest.raises(ToolError, match="request failed"):
            await call(registry, "web_reader", url=url)


# --- DuckDuckGo and Wikipedia ------------------------------------------------------------------------------


async def test_duckduckgo_search_parses_the_result_page(
    registry: DefaultToolRegistry, services: FakeServices
) -> None:
    result = await call(registry, "duckduckgo_search", query="llama", max_results=5, region="us-en")
    assert services.seen["html.duckduckgo.com"]["query"] == {"q": "llama", "kl": "us-en"}
    assert result.data == [
        {
            "title": "Llama - Wikipedia",
            "url": "https://en.wikipedia.org/wiki/Llama",
            "snippet": "The llama is a domesticated South American camelid.",
        },
        {
            "title": "Llama | National Geographic",
            "url": "https://www.nationalgeographic.com/animals/llama",
            "snippet": "Llamas are social animals and live with others as a herd.",
        },
    ]
    assert result.text.startswith("1. Llama - Wikipedia\nhttps://en.wikipedia.org/wiki/Llama\n")


async def test_duckduckgo_bot_check_is_a_clear_error(registry: DefaultToolRegistry) -> None:
    with pytest.raises(ToolError, match="DuckDuckGo refused the search"):
        await call(registry, "duckduckgo_search", query="bot")


async def test_wikipedia_search_returns_introductions_in_rank_order(
    registry: DefaultToolRegistry, services: FakeServices
) -> None:
    result = await call(registry, "wikipedia_search", query="llama", max_results=2)
    sent = services.seen["en.wikipedia.org"]
    assert sent["path"] == "/w/api.php"
    assert sent["query"]["gsrsearch"] == "llama" and sent["query"]["formatversion"] == "2"
    assert [p["title"] for p in result.data] == ["Llama", "Llama (language model)"]
    assert result.data[0]["url"] == "https://en.wikipedia.org/wiki/Llama"
    assert "## Llama\nhttps://en.wikipedia.org/wiki/Llama\nThe llama (Lama glama)" in result.text


async def test_wikipedia_no_match_and_api_error(registry: DefaultToolRegistry) -> None:
    empty = await call(registry, "wikipedia_search", query="zzzqqq")
    assert empty.data == [] and empty.text == "No Wikipedia article matches 'zzzqqq'."
    with pytest.raises(ToolError, match="Wikipedia: Waiting for a database server"):
        await call(registry, "wikipedia_search", query="x", language="fr")


# --- credentialed providers --------------------------------------------------------------------------------


async def test_tavily_search_sends_the_key_and_returns_results(services: FakeServices) -> None:
    registry = credentialed(services, "tavily", api_key=TAVILY_KEY)
    result = await call(registry, "tavily_search", query="where do llamas live", include_answer=True)
    assert services.seen["api.tavily.com"]["path"] == "/search"
    assert result.data["answer"] == "Llamas live in the Andes."
    assert result.data["results"][0]["url"] == "https://en.wikipedia.org/wiki/Llama"
    assert result.text.startswith("Answer: Llamas live in the Andes.\n\n1. Llama - Wikipedia")


@pytest.mark.parametrize(
    ("provider", "credentials", "name", "arguments", "status"),
    [
        ("tavily", {"api_key": "tvly-wrong"}, "tavily_search", {"query": "x"}, 401),
        ("jina", {"api_key": "jina_wrong"}, "jina_reader", {"url": "https://example.com/"}, 401),
        ("deepl", {"api_key": "wrong:fx"}, "translate", {"text": "Hello", "target_language": "DE"}, 403),
    ],
)
async def test_a_wrong_credential_is_a_clear_tool_error(
    services: FakeServices,
    provider: str,
    credentials: dict[str, str],
    name: str,
    arguments: dict[str, Any],
    status: int,
) -> None:
    registry = credentialed(services, provider, **credentials)
    with pytest.raises(ToolError, match=f"refused the credentials \\(HTTP {status}\\): check the API key"):
        await call(registry, name, **arguments)


async def test_searxng_search_at_the_workspace_instance(services: FakeServices) -> None:
    registry = credentialed(services, "searxng", base_url="https://searx.example.org/")
    result = await call(registry, "searxng_search", query="llama", category="news", max_results=3)
    sent = services.seen["searx.example.org"]
    assert sent["path"] == "/search" and sent["query"] == {
        "q": "llama",
        "format": "json",
        "categories": "news",
    }
    assert [r["url"] for r in result.data] == [f"https://example.com/{i}" for i in (1, 2, 3)]
    assert "authorization" not in {k.lower() for k in sent["headers"]}


def test_searxng_needs_an_http_base_url(services: FakeServices) -> None:
    with pytest.raises(ToolError, match="not an http\\(s\\) URL"):
        provider_tools("searxng", {"base_url": "ftp://searx"}, RoutedHttpClient(services))


async def test_jina_reader_with_and_without_a_key(services: FakeServices) -> None:
    result = await call(
        credentialed(services, "jina", api_key=JINA_KEY),
        "jina_reader",
        url="https://example.com/",
        max_chars=200,
    )
    sent = services.seen["r.jina.ai"]
    assert (
        sent["path"] == "/https://example.com/" and sent["headers"]["authorization"] == f"Bearer {JINA_KEY}"
    )
    assert result.data["title"] == "Example Domain" and result.data["truncated"]
    assert result.text.startswith("# Example Domain\n\nThis domain is for use")
    anonymous = await call(credentialed(services, "jina"), "jina_reader", url="https://example.com/")
    assert not anonymous.data["truncated"]


async def test_deepl_translate_on_the_free_endpoint(services: FakeServices) -> None:
    registry = credentialed(services, "deepl", api_key=DEEPL_KEY)
    result = await call(registry, "translate", text="Hello, world!", target_language="de")
    assert result.data == {"text": "Hallo, Welt!", "source_language": "EN"}
    assert result.text == "Hallo, Welt!"
    assert services.seen["api-free.deepl.com"]["path"] == "/v2/translate"


async def test_tools_run_concurrently_without_blocking_each_other(services: FakeServices) -> None:
    registry = DefaultToolRegistry(builtin_tools(RoutedHttpClient(services)))
    results = await asyncio.gather(
        call(registry, "wikipedia_search", query="llama"),
        call(registry, "duckduckgo_search", query="llama"),
        call(registry, "calculator", expression="6 * 7"),
    )
    assert results[2].data == {"result": 42}
