"""http_request: an HTTP call through the HttpClient port (the shipped client applies the SSRF guard)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import Field

from workflows._errors import NodeError
from workflows._ports import HttpClient, HttpRequest
from workflows.nodes._base import NodeConfig, NodeContext, NodeKind, NodeResult, Template


class HttpRequestConfig(NodeConfig):
    """``body`` is a template (JSON for ``body_type: json``); ``form`` fields for ``body_type: form``."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    url: Template
    headers: dict[str, Template] = Field(default_factory=dict)
    params: dict[str, Template] = Field(default_factory=dict)
    body_type: Literal["none", "json", "text", "form"] = "none"
    body: Template | None = None
    form: dict[str, Template] = Field(default_factory=dict)
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    follow_redirects: bool = True
    fail_on_error_status: bool = False


class HttpRequestNode(NodeKind[HttpRequestConfig]):
    """Outputs ``status_code``, ``headers``, ``body`` (text) and ``json`` (parsed, or None)."""

    type = "http_request"
    config_model = HttpRequestConfig
    description = "Calls an HTTP API."

    def outputs(self, config: HttpRequestConfig) -> Mapping[str, str] | None:
        return {"status_code": "number", "headers": "object", "body": "string", "json": "any"}

    async def run(self, config: HttpRequestConfig, ctx: NodeContext) -> NodeResult:
        client: HttpClient = ctx.port("http")
        headers = {k: ctx.render(v) for k, v in config.headers.items()}
        content = _content(config, ctx, headers)
        request = HttpRequest(
            config.method,
            ctx.render(config.url).strip(),
            headers,
            {k: ctx.render(v) for k, v in config.params.items()},
            content,
            config.timeout_seconds,
            config.follow_redirects,
        )
        response = await client.request(request)
        if config.fail_on_error_status and response.status_code >= 400:
            raise NodeError(f"{config.method} returned HTTP {response.status_code}: {response.text[:300]}")
        return NodeResult(
            {
                "status_code": response.status_code,
                "headers": dict(response.headers),
                "body": response.text,
                "json": _json(response.content),
            }
        )


def _content(config: HttpRequestConfig, ctx: NodeContext, headers: dict[str, str]) -> bytes | None:
    lowered = {k.lower() for k in headers}
    if config.body_type == "form":
        headers.setdefault("content-type", "application/x-www-form-urlencoded")
        return urlencode({k: ctx.render(v) for k, v in config.form.items()}).encode()
    if config.body_type == "none" or config.body is None:
        return None
    text = ctx.render(config.body)
    if config.body_type == "json":
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise NodeError(f"the JSON body is not valid JSON: {exc.msg}") from None
        except RecursionError:
            raise NodeError("the JSON body is nested too deeply") from None
        if "content-type" not in lowered:
            headers["content-type"] = "application/json"
    return text.encode()


def _json(content: bytes) -> Any:
    try:
        return json.loads(content) if content else None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return None
