"""``wikipedia_search``: search Wikipedia and return the best pages' introductions (the MediaWiki API).

One call: ``action=query&generator=search`` with ``prop=extracts|info`` gives each hit's plain-text
introduction and URL (``formatversion=2``: ``query.pages`` is a list, ordered by ``index``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflows._errors import ToolError
from workflows._ports import CallContext, HttpClient, ToolResult, ToolSpec
from workflows.tools._base import Tool, cut, json_body, request, schema, send

ENDPOINT = "https://{language}.wikipedia.org/w/api.php"
_EXTRACT_CHARS = 4_000

WIKIPEDIA_SEARCH = ToolSpec(
    "wikipedia_search",
    "Search Wikipedia. Returns the best matching articles with their introduction as plain text and their "
    "URL. Good for facts about people, places, things and history; use the article's language code for "
    "other Wikipedias.",
    schema(
        {
            "query": {"type": "string", "minLength": 1, "maxLength": 300, "description": "What to look up"},
            "language": {
                "type": "string",
                "pattern": "^[a-z]{2,3}(-[a-z]{2,8})?$",
                "description": "Wikipedia language code: 'en' (default), 'fr', 'de', 'zh', 'ja'...",
            },
            "max_results": {"type": "integer", "minimum": 1, "maximum": 10, "description": "Default 3"},
        },
        ("query",),
    ),
    timeout_seconds=20.0,
    max_output_chars=50_000,
)


class _Search:
    def __init__(self, http: HttpClient, endpoint: str) -> None:
        self.http, self.endpoint = http, endpoint

    async def __call__(self, arguments: Mapping[str, Any], context: CallContext) -> ToolResult:
        limit = str(int(arguments.get("max_results") or 3))
        params = {
            "action": "query", "format": "json", "formatversion": "2", "generator": "search",
            "gsrsearch": str(arguments["query"]), "gsrlimit": limit, "prop": "extracts|info",
            "exintro": "1", "explaintext": "1", "exlimit": limit, "inprop": "url", "redirects": "1",
        }  # fmt: skip
        url = self.endpoint.format(language=str(arguments.get("language") or "en"))
        response = await send(
            self.http,
            request("GET", url, timeout=WIKIPEDIA_SEARCH.timeout_seconds, params=params),
            "Wikipedia",
        )
        body = json_body(response, "Wikipedia")
        if isinstance(body, dict) and "error" in body:
            raise ToolError(f"Wikipedia: {body['error'].get('info') or body['error']}")
        pages = sorted((body.get("query") or {}).get("pages") or [], key=lambda p: p.get("index", 0))
        results = [
            {
                "title": str(page.get("title") or ""),
                "url": str(page.get("fullurl") or ""),
                "extract": cut(str(page.get("extract") or ""), _EXTRACT_CHARS)[0],
            }
            for page in pages
        ]
        text = "\n\n".join(f"## {r['title']}\n{r['url']}\n{r['extract']}" for r in results)
        return ToolResult(results, text or f"No Wikipedia article matches {arguments['query']!r}.")


def tools(http: HttpClient, endpoint: str = ENDPOINT) -> list[Tool]:
    """Wikipedia search over ``http``; ``endpoint`` has a ``{language}`` slot."""
    return [Tool(WIKIPEDIA_SEARCH, _Search(http, endpoint))]
