"""OpenAPI 3 documents as tool providers: reading one (pasted or fetched), checking it, and its tools.

A document is read like a workflow document (``workflows.load_yaml``: YAML or JSON, size and depth capped,
aliases refused, so a "billion laughs" document is an error, not a hang). It must be OpenAPI 3 with a
server and at least one operation; the server must pass the workflow HTTP policy's static check (a literal
private address or a local name is refused here; a name that resolves to one is refused by the guarded
client at call time). A document given by URL is fetched through the same guarded client the tools use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urljoin

import httpx
from asgiref.sync import async_to_sync

from llmops.core.errors import ValidationError
from llmops.core.outbound import WORKFLOW_HTTP, check_base_url, workflow_http_client
from workflows import (
    BlockedURLError,
    DocumentError,
    DocumentLimits,
    HttpRequest,
    NodeError,
    Tool,
    load_yaml,
    openapi_tools,
)

MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
FETCH_TIMEOUT_SECONDS = 20.0
# Every operation is a tool an agent may be shown: past a few hundred, a model cannot choose among them.
MAX_OPERATIONS = 300
_METHODS = ("get", "post", "put", "patch", "delete")


def _invalid(field: str, reason: str) -> ValidationError:
    return ValidationError(f"The OpenAPI document cannot be used: {reason}", fields={field: [reason]})


def openapi_parse(text: str | bytes, *, field: str = "document") -> dict[str, Any]:
    """Parse a pasted or fetched document (JSON or YAML); unreadable, oversized or aliased ones are a 400."""
    try:
        document = load_yaml(text, limits=DocumentLimits(max_bytes=MAX_DOCUMENT_BYTES))
    except DocumentError as exc:
        raise _invalid(field, str(exc)) from None
    if not isinstance(document, dict):
        raise _invalid(field, "the document is not a JSON or YAML object")
    return document


def openapi_fetch(url: str) -> tuple[dict[str, Any], str]:
    """Fetch and parse the document at ``url`` through the SSRF-guarded client; returns it and its final URL."""
    check_base_url(url, field="url", setting=WORKFLOW_HTTP)
    request = HttpRequest(
        "GET",
        url,
        headers={"accept": "application/json, application/yaml, text/yaml, */*"},
        timeout_seconds=FETCH_TIMEOUT_SECONDS,
        max_response_bytes=MAX_DOCUMENT_BYTES,
    )
    try:
        response = async_to_sync(workflow_http_client().request)(request)
    except BlockedURLError as exc:
        raise ValidationError("URL not allowed.", fields={"url": [f"{exc} ({WORKFLOW_HTTP})"]}) from None
    except NodeError as exc:  # the size cap
        raise _invalid("url", f"the document is too large: {exc}") from None
    except httpx.HTTPError as exc:
        raise _invalid("url", f"the document could not be fetched: {exc or type(exc).__name__}") from None
    if response.status_code >= 400:
        raise _invalid("url", f"fetching the document returned HTTP {response.status_code}")
    return openapi_parse(response.content, field="url"), response.url or url


def openapi_check(document: Mapping[str, Any], *, field: str, source_url: str = "") -> str:
    """Check that ``document`` is OpenAPI 3 with a usable server and an operation; returns the server URL
    (a relative one resolved against ``source_url``)."""
    version = document.get("openapi")
    if isinstance(version, int | float):  # ``openapi: 3.1`` unquoted in YAML is a number
        version = str(version)
    if not isinstance(version, str) or not version.startswith("3."):
        found = f"openapi: {version!r}" if version is not None else "no 'openapi' version field"
        raise _invalid(field, f"not an OpenAPI 3 document ({found}; Swagger 2 must be converted first)")
    servers = document.get("servers")
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
        raise _invalid(field, "the document has no servers: add one with the API's URL")
    server = servers[0].get("url")
    if not isinstance(server, str) or not server.strip():
        raise _invalid(field, "the first server has no url")
    try:
        server = urljoin(source_url, server.strip()) if source_url else server.strip()
    except ValueError:  # a malformed host such as "http://[::1"
        raise _invalid(field, f"the first server's url {server[:200]!r} is not a valid URL") from None
    try:
        check_base_url(server, field=field, setting=WORKFLOW_HTTP)
    except ValidationError as exc:
        reasons = "; ".join(m for messages in exc.fields.values() for m in messages)
        raise _invalid(field, f"the server {server} is not allowed: {reasons}") from None
    operations = len(_operations(document))
    if not operations:
        raise _invalid(field, "the document has no operations (paths with get, post, put, patch or delete)")
    if operations > MAX_OPERATIONS:
        raise _invalid(
            field, f"the document has {operations} operations; at most {MAX_OPERATIONS} become tools"
        )
    return server


def _operations(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    paths = document.get("paths")
    if not isinstance(paths, dict):
        return []
    return [
        (path, method)
        for path, item in paths.items()
        if isinstance(item, dict)
        for method in _METHODS
        if isinstance(item.get(method), dict)
    ]


def openapi_document_tools(
    document: Mapping[str, Any],
    *,
    base_url: str,
    auth: Mapping[str, Any],
    credentials: Mapping[str, Any],
    field: str = "document",
) -> list[Tool]:
    """The document's operations as engine tools calling ``base_url`` with the provider's authentication,
    through the guarded workflow HTTP client; a malformed operation is a 400 on ``field``."""
    headers, query = auth_parts(auth, credentials)
    try:
        tools = openapi_tools(
            _well_formed(document),
            http=workflow_http_client(),
            base_url=base_url,
            headers=headers,
            query=query,
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise _invalid(field, f"an operation is malformed ({type(exc).__name__}: {exc})") from None
    return [Tool(replace(t.spec, parameters=_without_refs(t.spec.parameters)), t.handler) for t in tools]


def _without_refs(value: Any) -> Any:
    """A schema whose ``$ref``s left by the engine's bounded inlining (recursive schemas) accept anything:
    a tool's schema stands alone, so such a reference could not be resolved when a call is checked."""
    if isinstance(value, dict):
        if "$ref" in value:
            return {k: v for k, v in value.items() if k != "$ref"} or {}
        return {k: _without_refs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_refs(v) for v in value]
    return value


def _well_formed(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document with only the operations the engine can read (dict items, dict parameters)."""
    paths: dict[str, Any] = {}
    for path, method in _operations(document):
        op = document["paths"][path][method]
        params = op.get("parameters", [])
        if not isinstance(params, list) or not all(isinstance(p, dict) and "name" in p for p in params):
            raise ValueError(f"{method.upper()} {path}: parameters must be objects with a name")
        paths.setdefault(path, {})[method] = op
    return {**document, "paths": paths}


def auth_parts(
    auth: Mapping[str, Any], credentials: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    """The headers and query parameters an OpenAPI provider's calls carry for its authentication."""
    kind = auth.get("type", "none")
    if kind == "bearer":
        return {"Authorization": f"Bearer {credentials.get('token', '')}"}, {}
    if kind == "api_key":
        name, value = str(auth.get("name", "")), str(credentials.get("api_key", ""))
        return ({name: value}, {}) if auth.get("in", "header") == "header" else ({}, {name: value})
    return {}, {}


def spec_snapshot(tools: list[Tool]) -> list[dict[str, Any]]:
    """The tools' specs as stored on the provider (JSON-safe)."""
    return [
        {
            "name": t.spec.name,
            "description": t.spec.description,
            "parameters": json.loads(json.dumps(t.spec.parameters)),
        }
        for t in tools
    ]
