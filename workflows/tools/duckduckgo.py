"""``duckduckgo_search``: web search through DuckDuckGo's HTML endpoint (no account, no API key).

DuckDuckGo has no official search API; its HTML page (``html.duckduckgo.com/html/``) is what its no-script
site serves, one ``div.result`` per hit with ``a.result__a`` (a ``/l/?uddg=`` redirect to the real URL) and
``a.result__snippet``. When it suspects a bot it answers 202 with a challenge page: that is a clear error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

from workflows._errors import ToolError
from workflows._ports import CallContext, HttpClient, ToolResult, ToolSpec
from workflows.tools._base import Tool, request, schema, send

ENDPOINT = "https://html.duckduckgo.com/html/"

DUCKDUCKGO_SEARCH = ToolSpec(
    "duckduckgo_search",
    "Search the web with DuckDuckGo. Returns the top results (title, URL, snippet); read a result in full "
    "with web_reader. Use short keyword queries.",
    schema(
        {
            "query": {"type": "string", "minLength": 1, "maxLength": 500, "description": "Search keywords"},
            "max_results": {"type": "integer", "minimum": 1, "maximum": 20, "description": "Default 5"},
            "region": {
                "type": "string",
                "pattern": "^[a-z]{2}-[a-z]{2}$",
                "description": "Region such as 'us-en' or 'de-de' (default: none)",
            },
        },
        ("query",),
    ),
    timeout_seconds=20.0,
    max_output_chars=20_000,
)


class _Search:
    def __init__(self, http: HttpClient, endpoint: str) -> None:
        self.http, self.endpoint = http, endpoint

    async def __call__(self, arguments: Mapping[str, Any], context: CallContext) -> ToolResult:
        params = {"q": str(arguments["query"])}
        if arguments.get("region"):
            params["kl"] = str(arguments["region"])
        headers = {"accept": "text/html"}
        response = await send(
            self.http,
            request(
                "GET",
                self.endpoint,
                timeout=DUCKDUCKGO_SEARCH.timeout_seconds,
                headers=headers,
                params=params,
            ),
            "DuckDuckGo",
        )
        results = parse_results(response.text, self.endpoint)[: int(arguments.get("max_results") or 5)]
        if not results and (response.status_code == 202 or "anomaly" in response.text):
            raise ToolError("DuckDuckGo refused the search (bot check or rate limit); try again later")
        return ToolResult(results, format_results(results))


def parse_results(html: str, base: str = ENDPOINT) -> list[dict[str, str]]:
    """The organic results of a DuckDuckGo HTML result page (ads skipped)."""
    soup = BeautifulSoup(html, "html.parser")
    results = []
    for item in soup.select("div.result"):
        if "result--ad" in (item.get("class") or []):
            continue
        link = item.select_one("a.result__a")
        if not isinstance(link, Tag):
            continue
        snippet = item.select_one(".result__snippet")
        results.append(
            {
                "title": link.get_text(" ", strip=True),
                "url": _target(str(link.get("href") or ""), base),
                "snippet": snippet.get_text(" ", strip=True) if snippet else "",
            }
        )
    return results


def _target(href: str, base: str) -> str:
    # Result links go through DuckDuckGo's redirector: //duckduckgo.com/l/?uddg=<the real URL>&rut=...
    absolute = urljoin(base, href)
    parts = urlsplit(absolute)
    if parts.path.startswith("/l/"):
        return parse_qs(parts.query).get("uddg", [absolute])[0]
    return absolute


def format_results(results: list[dict[str, str]]) -> str:
    """Search results as a numbered list a model reads easily."""
    if not results:
        return "No results."
    return "\n\n".join(
        f"{i}. {r['title']}\n{r['url']}\n{r.get('snippet') or ''}".rstrip() for i, r in enumerate(results, 1)
    )


def tools(http: HttpClient, endpoint: str = ENDPOINT) -> list[Tool]:
    """DuckDuckGo search over ``http``."""
    return [Tool(DUCKDUCKGO_SEARCH, _Search(http, endpoint))]
