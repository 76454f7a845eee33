"""SearXNG (``searxng_search``): a self-hosted metasearch engine at a base URL the workspace gives.

``GET <base>/search?q=...&format=json&categories=general``; the instance must have the JSON format enabled
(``search.formats`` in its settings.yml), otherwise it answers 403, which is reported as such.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from workflows._errors import ToolError
from workflows._ports import CallContext, HttpClient, ToolResult, ToolSpec
from workflows.tools._base import (
    CredentialField,
    ProviderInfo,
    Tool,
    credential,
    json_body,
    request,
    schema,
    send,
)
from workflows.tools.duckduckgo import format_results

_CATEGORIES = [
    "general",
    "news",
    "images",
    "videos",
    "music",
    "it",
    "science",
    "files",
    "social media",
    "map",
]

SEARXNG_SEARCH = ToolSpec(
    "searxng_search",
    "Search the web through a SearXNG metasearch instance (results from many engines at once). Returns "
    "title, URL and snippet of the top results; read one in full with web_reader.",
    schema(
        {
            "query": {"type": "string", "minLength": 1, "maxLength": 500, "description": "Search keywords"},
            "category": {"type": "string", "enum": _CATEGORIES, "description": "Default general"},
            "language": {"type": "string", "maxLength": 10, "description": "e.g. 'en', 'de' (default: all)"},
            "time_range": {"type": "string", "enum": ["day", "month", "year"], "description": "Default: any"},
            "max_results": {"type": "integer", "minimum": 1, "maximum": 30, "description": "Default 5"},
        },
        ("query",),
    ),
    timeout_seconds=30.0,
    max_output_chars=30_000,
)
PROVIDER = ProviderInfo(
    "searxng",
    "SearXNG",
    "A SearXNG metasearch instance of your own (its JSON output format must be enabled).",
    (
        CredentialField("base_url", "Base URL (e.g. https://searx.example.org)", secret=False),
        CredentialField(
            "api_key", "API key, sent as a Bearer token (if your instance needs one)", required=False
        ),
    ),
    (SEARXNG_SEARCH,),
)


class _Search:
    def __init__(self, base_url: str, key: str, http: HttpClient) -> None:
        self.base_url, self.key, self.http = base_url, key, http

    async def __call__(self, arguments: Mapping[str, Any], context: CallContext) -> ToolResult:
        params = {
            "q": str(arguments["query"]),
            "format": "json",
            "categories": str(arguments.get("category") or "general"),
        }
        for name in ("language", "time_range"):
            if arguments.get(name):
                params[name] = str(arguments[name])
        headers = {"authorization": f"Bearer {self.key}"} if self.key else {}
        response = await send(
            self.http,
            request(
                "GET",
                f"{self.base_url}/search",
                timeout=SEARXNG_SEARCH.timeout_seconds,
                headers=headers,
                params=params,
            ),
            "SearXNG",
        )
        answer = json_body(response, "SearXNG")
        results = [
            {
                "title": str(r.get("title") or ""),
                "url": str(r.get("url") or ""),
                "snippet": str(r.get("content") or ""),
                "engine": str(r.get("engine") or ""),
            }
            for r in (answer.get("results") or [])[: int(arguments.get("max_results") or 5)]
        ]
        return ToolResult(results, format_results(results))


def tools(credentials: Mapping[str, Any], http: HttpClient) -> list[Tool]:
    """SearXNG's tools for the instance at ``credentials['base_url']``."""
    base_url = credential(credentials, "base_url", "searxng").rstrip("/")
    if urlsplit(base_url).scheme not in ("http", "https") or not urlsplit(base_url).hostname:
        raise ToolError(f"searxng: the base URL {base_url[:100]!r} is not an http(s) URL")
    return [Tool(SEARXNG_SEARCH, _Search(base_url, str(credentials.get("api_key") or ""), http))]
