"""Jina Reader (``jina_reader``): any URL as LLM-friendly markdown, rendered by Jina's servers.

``GET https://r.jina.ai/<url>`` with ``Accept: application/json`` answers ``{"code": 200, "data": {"title",
"url", "content", ...}}``; the API key (``Authorization: Bearer jina_...``) raises the rate limit and is
optional. The page is fetched by Jina, not from here, so the SSRF guard only sees ``r.jina.ai``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from workflows._errors import ToolError
from workflows._ports import CallContext, HttpClient, ToolResult, ToolSpec
from workflows.tools._base import CredentialField, ProviderInfo, Tool, cut, json_body, request, schema, send

ENDPOINT = "https://r.jina.ai/"
_DEFAULT_CHARS = 20_000

JINA_READER = ToolSpec(
    "jina_reader",
    "Read a web page through Jina Reader, which renders it (JavaScript included) and returns clean "
    "markdown with its title. Use it for pages web_reader cannot read well.",
    schema(
        {
            "url": {"type": "string", "maxLength": 2048, "description": "The page's http(s) URL"},
            "target_selector": {"type": "string", "maxLength": 200, "description": "CSS selector to keep"},
            "no_cache": {"type": "boolean", "description": "Bypass Jina's cache"},
            "max_chars": {
                "type": "integer",
                "minimum": 100,
                "maximum": 100_000,
                "description": "Default 20000",
            },
        },
        ("url",),
    ),
    timeout_seconds=60.0,
    max_output_chars=101_000,
)
PROVIDER = ProviderInfo(
    "jina",
    "Jina Reader",
    "Web pages as markdown, rendered by Jina AI (jina.ai); an API key raises the rate limit.",
    (CredentialField("api_key", "API key", required=False),),
    (JINA_READER,),
)


class _Reader:
    def __init__(self, key: str, http: HttpClient) -> None:
        self.key, self.http = key, http

    async def __call__(self, arguments: Mapping[str, Any], context: CallContext) -> ToolResult:
        url = str(arguments["url"]).strip()
        if urlsplit(url).scheme not in ("http", "https"):
            raise ToolError(f"jina_reader reads http:// and https:// URLs, not {url[:100]!r}")
        headers = {"accept": "application/json"}
        if self.key:
            headers["authorization"] = f"Bearer {self.key}"
        if arguments.get("target_selector"):
            headers["x-target-selector"] = str(arguments["target_selector"])
        if arguments.get("no_cache"):
            headers["x-no-cache"] = "true"
        response = await send(
            self.http,
            request("GET", ENDPOINT + url, timeout=JINA_READER.timeout_seconds, headers=headers),
            "Jina Reader",
        )
        page = json_body(response, "Jina Reader").get("data") or {}
        content, truncated = cut(
            str(page.get("content") or ""), int(arguments.get("max_chars") or _DEFAULT_CHARS)
        )
        title = str(page.get("title") or "")
        data = {
            "url": str(page.get("url") or url),
            "title": title,
            "content": content,
            "truncated": truncated,
        }
        return ToolResult(data, f"# {title}\n\n{content}" if title else content)


def tools(credentials: Mapping[str, Any], http: HttpClient) -> list[Tool]:
    """Jina Reader with an optional API key."""
    return [Tool(JINA_READER, _Reader(str(credentials.get("api_key") or "").strip(), http))]
