"""Tavily search (``tavily_search``): a search API made for agents; needs an API key (``tvly-...``).

``POST https://api.tavily.com/search`` with ``Authorization: Bearer <key>`` and a JSON body; the answer has
``results`` (title, url, content, score) and, when asked, a short ``answer``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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

ENDPOINT = "https://api.tavily.com/search"

TAVILY_SEARCH = ToolSpec(
    "tavily_search",
    "Search the web with Tavily, a search engine for AI agents: returns relevant results with the useful "
    "part of each page, and optionally a short answer. Use for current events and facts to check.",
    schema(
        {
            "query": {"type": "string", "minLength": 1, "maxLength": 400, "description": "The search query"},
            "search_depth": {"type": "string", "enum": ["basic", "advanced"], "description": "Default basic"},
            "topic": {"type": "string", "enum": ["general", "news"], "description": "Default general"},
            "max_results": {"type": "integer", "minimum": 1, "maximum": 20, "description": "Default 5"},
            "include_answer": {"type": "boolean", "description": "Also return a short answer"},
            "include_domains": {"type": "array", "items": {"type": "string"}, "maxItems": 50},
            "exclude_domains": {"type": "array", "items": {"type": "string"}, "maxItems": 50},
        },
        ("query",),
    ),
    timeout_seconds=30.0,
    max_output_chars=50_000,
)
PROVIDER = ProviderInfo(
    "tavily",
    "Tavily",
    "Web search built for AI agents (tavily.com); needs an API key.",
    (CredentialField("api_key", "API key"),),
    (TAVILY_SEARCH,),
)


class _Search:
    def __init__(self, key: str, http: HttpClient) -> None:
        self.key, self.http = key, http

    async def __call__(self, arguments: Mapping[str, Any], context: CallContext) -> ToolResult:
        body = {"max_results": 5, **arguments}
        headers = {"authorization": f"Bearer {self.key}"}
        response = await send(
            self.http,
            request("POST", ENDPOINT, timeout=TAVILY_SEARCH.timeout_seconds, headers=headers, body=body),
            "Tavily",
        )
        answer = json_body(response, "Tavily")
        results = [
            {
                "title": r.get("title", ""),
                "url": r.get("url", ""),
                "content": r.get("content", ""),
                "score": r.get("score"),
            }
            for r in answer.get("results") or []
        ]
        data = {"answer": answer.get("answer"), "results": results}
        lines = [f"Answer: {data['answer']}"] if data["answer"] else []
        lines += [f"{i}. {r['title']}\n{r['url']}\n{r['content']}" for i, r in enumerate(results, 1)]
        return ToolResult(data, "\n\n".join(lines) or "No results.")


def tools(credentials: Mapping[str, Any], http: HttpClient) -> list[Tool]:
    """Tavily's tools with this API key."""
    return [Tool(TAVILY_SEARCH, _Search(credential(credentials, "api_key", "tavily"), http))]
