"""``web_reader``: fetch a web page through the HttpClient port and return its main content as markdown or text.

The port is the platform's SSRF-guarded client, so a page on a private address (or a redirect to one) is
refused there. Navigation, scripts, styles and forms are dropped; ``<main>`` or ``<article>`` is preferred
when the page has one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag
from markdownify import markdownify

from workflows._errors import ToolError
from workflows._ports import CallContext, HttpClient, ToolResult, ToolSpec
from workflows.tools._base import Tool, cut, request, schema, send

_NOISE = (
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed",
    "form", "button", "input", "select", "nav", "header", "footer", "aside",
)  # fmt: skip
_TEXT_TYPES = ("text/plain", "text/markdown", "application/json", "text/csv", "application/xml", "text/xml")
_DEFAULT_CHARS = 20_000
_MAX_CHARS = 100_000

WEB_READER = ToolSpec(
    "web_reader",
    "Read a web page: fetches the URL and returns its title and main content as markdown (or plain text), "
    "without menus, scripts or ads. Use it to read a page found by a search or given by the user. Long pages "
    "are cut at max_chars.",
    schema(
        {
            "url": {"type": "string", "maxLength": 2048, "description": "The page's http(s) URL"},
            "format": {"type": "string", "enum": ["markdown", "text"], "description": "Default markdown"},
            "max_chars": {
                "type": "integer",
                "minimum": 100,
                "maximum": _MAX_CHARS,
                "description": f"Cut the content at this many characters (default {_DEFAULT_CHARS})",
            },
        },
        ("url",),
    ),
    timeout_seconds=30.0,
    max_output_chars=_MAX_CHARS + 1_000,
)


class _WebReader:
    def __init__(self, http: HttpClient) -> None:
        self.http = http

    async def __call__(self, arguments: Mapping[str, Any], context: CallContext) -> ToolResult:
        url = str(arguments["url"]).strip()
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise ToolError(f"web_reader reads http:// and https:// URLs, not {url[:100]!r}")
        accept = "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5"
        response = await send(
            self.http,
            request("GET", url, timeout=WEB_READER.timeout_seconds, headers={"accept": accept}),
            f"web_reader ({urlsplit(url).hostname})",
        )
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if (
            kind.startswith("text/html")
            or kind == "application/xhtml+xml"
            or (not kind and _looks_html(response.content))
        ):
            output = str(arguments.get("format") or "markdown")
            title, content = page_content(response.content, output, base_url=response.url or url)
        elif kind.startswith(_TEXT_TYPES):
            title, content = "", response.text.strip()
        else:
            raise ToolError(
                f"web_reader reads web pages and text; {url[:100]} is {kind or 'unknown content'}"
            )
        content, truncated = cut(content, int(arguments.get("max_chars") or _DEFAULT_CHARS))
        data = {"url": response.url or url, "title": title, "content": content, "truncated": truncated}
        return ToolResult(data, f"# {title}\n\n{content}" if title else content)


def _looks_html(content: bytes) -> bool:
    return content[:1000].lstrip().lower().startswith((b"<!doctype html", b"<html"))


def page_content(html: bytes | str, output: str = "markdown", *, base_url: str = "") -> tuple[str, str]:
    """A page's title and main content, as markdown or plain text; links made absolute against ``base_url``
    (a model can pass them straight back to web_reader)."""
    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for element in soup(_NOISE):
        element.decompose()
    for link in soup.find_all("a", href=True):
        if isinstance(link, Tag):
            link["href"] = urljoin(base_url, str(link["href"]))
    main = _main(soup)
    if output == "text":
        text = main.get_text("\n", strip=True)
    else:
        text = markdownify(str(main), heading_style="ATX", strip=["img"])
    return title, re.sub(r"\n\s*\n\s*\n+", "\n\n", text).strip()


def _main(soup: BeautifulSoup) -> Tag | BeautifulSoup:
    # The largest <main>/<article> holding a fair share of the page's text; else the body.
    body = soup.body or soup
    total = len(body.get_text(strip=True)) or 1
    candidates = [c for c in soup.find_all(["main", "article"]) if isinstance(c, Tag)]
    best = max(candidates, key=lambda c: len(c.get_text(strip=True)), default=None)
    if best is not None and len(best.get_text(strip=True)) >= 0.3 * total:
        return best
    return body


def tools(http: HttpClient) -> list[Tool]:
    """The web reader over ``http``."""
    return [Tool(WEB_READER, _WebReader(http))]
