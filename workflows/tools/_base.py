"""What every built-in tool is made of: ``Tool``, provider descriptions, and the HTTP call they share.

A tool's handler may return plain JSON data (its text is then the JSON) or a ``ToolResult`` whose ``text``
is what a model reads best (a page as markdown, search results as a list).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workflows._errors import ToolError
from workflows._ports import CallContext, HttpClient, HttpRequest, HttpResponse, ToolSpec

Handler = Callable[[Mapping[str, Any], CallContext], Awaitable[Any]]

# Every built-in HTTP tool reads at most this much of an answer; the HttpClient port stops reading there.
MAX_RESPONSE_BYTES = 5 * 1024 * 1024
USER_AGENT = "Mozilla/5.0 (compatible; llmops-tools/1.0)"


@dataclass(frozen=True, slots=True)
class Tool:
    """A tool: its spec (what the model sees) and the coroutine that runs it."""

    spec: ToolSpec
    handler: Handler


@dataclass(frozen=True, slots=True)
class CredentialField:
    """One setting a provider needs; ``secret`` ones are stored encrypted and never shown again."""

    name: str
    label: str
    secret: bool = True
    required: bool = True


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """A built-in provider that needs an account (or a server of one's own): what to ask for, what it gives."""

    name: str
    label: str
    description: str
    credentials: tuple[CredentialField, ...]
    tools: tuple[ToolSpec, ...] = field(default=())


def schema(properties: Mapping[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """A closed JSON Schema object (unknown arguments are refused, so a model's typo is reported)."""
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(required),
        "additionalProperties": False,
    }


def credential(credentials: Mapping[str, Any], name: str, provider: str) -> str:
    """A required credential, or a ``ToolError`` naming it."""
    value = str(credentials.get(name) or "").strip()
    if not value:
        raise ToolError(f"{provider}: the credential {name!r} is not set")
    return value


async def send(http: HttpClient, request: HttpRequest, service: str) -> HttpResponse:
    """Send ``request`` for ``service``; every failure (refused address, timeout, size, HTTP error) is a
    ``ToolError`` that says which service failed and why."""
    try:
        response = await http.request(request)
    except ToolError:
        raise
    except Exception as exc:  # the port's implementations raise their own errors (httpx, guard, size cap)
        reason = str(exc) or type(exc).__name__
        raise ToolError(f"{service}: request failed: {reason}") from None
    if response.status_code in (401, 403):
        raise ToolError(
            f"{service} refused the credentials (HTTP {response.status_code}): check the API key "
            f"({_snippet(response)})"
        )
    if response.status_code == 429:
        raise ToolError(f"{service} is rate limiting these calls (HTTP 429); try again later")
    if response.status_code >= 400:
        raise ToolError(f"{service} answered HTTP {response.status_code}: {_snippet(response)}")
    return response


def json_body(response: HttpResponse, service: str) -> Any:
    """The answer's JSON, or a ``ToolError``."""
    try:
        return json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ToolError(f"{service} did not answer JSON: {_snippet(response)}") from None


def _snippet(response: HttpResponse) -> str:
    return " ".join(response.text[:300].split()) or "empty body"


def cut(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to ``limit`` characters with a visible note; and whether it was cut."""
    if len(text) <= limit:
        return text, False
    return text[:limit] + f"\n\n[... cut: {len(text) - limit} more characters]", True


def request(
    method: str,
    url: str,
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    body: Any = None,
) -> HttpRequest:
    """An ``HttpRequest`` with the tools' user agent, size cap and (for ``body``) a JSON body."""
    all_headers = {"user-agent": USER_AGENT, "accept": "application/json", **(headers or {})}
    content = None
    if body is not None:
        content = json.dumps(body).encode()
        all_headers["content-type"] = "application/json"
    return HttpRequest(
        method,
        url,
        all_headers,
        dict(params or {}),
        content,
        timeout_seconds=timeout,
        max_response_bytes=MAX_RESPONSE_BYTES,
    )
