"""Writes of the tools app: tool providers (create, update, refresh, delete) and a console test call.

A provider's tools are read when it is created or refreshed (an OpenAPI document parsed and checked, an MCP
server asked for its list, a built-in's specs taken from the engine) and stored as a snapshot; runs never
ask a server at build time. Secrets go to the encrypted ``credentials`` and are never returned.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any

import jsonschema
from asgiref.sync import async_to_sync
from django.utils import timezone

from llmops.accounts.models import Workspace
from llmops.core.errors import Conflict, NotFound, ValidationError
from llmops.core.outbound import WORKFLOW_HTTP, check_base_url, workflow_http_client
from llmops.core.versioning import unique_write
from llmops.providers.selectors import url_origin
from llmops.tools.models import McpTransport, ProviderKind, ToolCallSource, ToolProvider
from llmops.tools.openapi import (
    MAX_DOCUMENT_BYTES,
    openapi_check,
    openapi_document_tools,
    openapi_fetch,
    openapi_parse,
    spec_snapshot,
)
from llmops.tools.registry import workspace_tool_registry
from workflows import CallContext, ToolError, ToolSpec

MCP_LIST_TIMEOUT_SECONDS = 20.0
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
_AUTH_TYPES = ("none", "api_key", "bearer")
RESERVED_SLUGS = frozenset({"import-openapi"})


def _slug_taken(slug: str) -> Conflict:
    return Conflict(f"A tool provider {slug!r} exists already.", fields={"slug": ["Already taken."]})


def _builtin_taken(name: str) -> Conflict:
    return Conflict(
        f"The workspace has a {name} provider already (its tools keep the built-in names).",
        fields={"builtin_provider": ["Already configured in this workspace."]},
    )


# No service here holds a transaction open: reading the tools may wait on a server (an OpenAPI URL, an MCP
# list) for seconds; each ends in one row write (the create in ``unique_write``'s savepoint).


def tool_provider_create(
    *,
    workspace: Workspace,
    kind: str,
    slug: str,
    name: str,
    description: str = "",
    enabled: bool = True,
    builtin_provider: str = "",
    url: str = "",
    transport: str = "",
    document: str | dict[str, Any] | None = None,
    auth: Mapping[str, Any] | None = None,
    credentials: Mapping[str, Any] | None = None,
) -> ToolProvider:
    """Create a provider of ``kind`` (builtin, openapi, mcp) and read its tools; a taken slug is a 409, an
    unusable document, server or credential set a 400 naming the field and the reason."""
    if slug in RESERVED_SLUGS:
        raise ValidationError(
            "Reserved slug.", fields={"slug": [f"{slug!r} names an API route; pick another."]}
        )
    if ToolProvider.objects.filter(workspace=workspace, slug=slug).exists():
        raise _slug_taken(slug)
    provider = ToolProvider(
        workspace=workspace, slug=slug, name=name, description=description, kind=kind, enabled=enabled
    )
    secrets = _credentials_merge({}, credentials)
    if kind == ProviderKind.BUILTIN:
        _builtin_prepare(provider, builtin_provider, secrets)
        if ToolProvider.objects.filter(
            workspace=workspace, kind=ProviderKind.BUILTIN, builtin_provider=builtin_provider
        ).exists():
            raise _builtin_taken(builtin_provider)
    elif kind == ProviderKind.OPENAPI:
        _openapi_import(provider, document=document, url=url, auth=auth or {"type": "none"}, secrets=secrets)
    elif kind == ProviderKind.MCP:
        _mcp_prepare(provider, url=url, transport=transport or McpTransport.STREAMABLE_HTTP, headers=secrets)
    else:
        raise ValidationError(
            "Unknown provider kind.", fields={"kind": [f"Must be one of {ProviderKind.values}."]}
        )
    provider.credentials = secrets or None
    provider.refreshed_at = timezone.now()
    taken = _builtin_taken(builtin_provider) if kind == ProviderKind.BUILTIN else _slug_taken(slug)
    unique_write(provider.save, taken)
    return provider


def tool_provider_update(*, provider: ToolProvider, **changes: Any) -> ToolProvider:
    """Change a provider: name, description, enabled; ``credentials`` are merged (an empty value removes a
    key); a new OpenAPI ``document``/``url`` or ``auth`` is checked again; a new MCP ``url``, ``transport``
    or header set lists the server's tools again."""
    for field in ("name", "description", "enabled"):
        if field in changes:
            setattr(provider, field, changes[field])
    stored = dict(provider.credentials or {})
    given = changes.get("credentials")
    secrets = _credentials_merge(dict(stored), given)
    if provider.kind == ProviderKind.BUILTIN and "credentials" in changes:
        _secrets_stay_home(
            str(stored.get("base_url") or ""), str(secrets.get("base_url") or ""), stored, given
        )
        _builtin_prepare(provider, provider.builtin_provider, secrets)
    elif provider.kind == ProviderKind.OPENAPI and {"document", "url", "auth", "credentials"} & set(changes):
        auth = changes.get("auth") or provider.auth or {"type": "none"}
        if changes.get("document") is not None or changes.get("url"):
            before = provider.base_url
            _openapi_import(
                provider,
                document=changes.get("document"),
                url=changes.get("url") or "",
                auth=auth,
                secrets=secrets,
            )
            _secrets_stay_home(before, provider.base_url, stored, given)
        else:
            provider.auth = _auth_clean(auth, secrets)
    elif provider.kind == ProviderKind.MCP and {"url", "transport", "credentials"} & set(changes):
        _secrets_stay_home(provider.url, changes.get("url") or provider.url, stored, given)
        _mcp_prepare(
            provider,
            url=changes.get("url") or provider.url,
            transport=changes.get("transport") or provider.transport,
            headers=secrets,
        )
    provider.credentials = secrets or None
    provider.save()
    return provider


def _origin(url: str) -> str:
    """Where a URL's requests (and so its secrets) go: the providers' ``url_origin``; a URL too malformed to
    split is its own origin (the kind's own check refuses it with a field error)."""
    try:
        return url_origin(url)
    except ValueError:
        return url


def _secrets_stay_home(before: str, after: str, stored: dict[str, Any], given: dict[str, Any] | None) -> None:
    """Stored secrets are never sent to another origin than the one they were given for: moving a provider
    (an MCP URL, a document whose server is elsewhere, a SearXNG base URL) needs its secrets given again in
    the same change, so an editor who does not know them cannot send them to a host of their own."""
    if not before or _origin(before) == _origin(after):
        return
    provided = {key for key, value in (given or {}).items() if value}
    kept = sorted(key for key, value in stored.items() if value and key != "base_url" and key not in provided)
    if kept:
        raise ValidationError(
            "The provider now points to another origin: give its secrets again.",
            fields={"credentials": [f"Enter {', '.join(kept)} again for {_origin(after)}: "
                                    "stored secrets are never sent to another host."]},
        )  # fmt: skip


def tool_provider_refresh(*, provider: ToolProvider) -> ToolProvider:
    """Read the provider's tools again: the OpenAPI document from its URL, the MCP server's list, the
    engine's specs of a built-in."""
    secrets = dict(provider.credentials or {})
    if provider.kind == ProviderKind.OPENAPI:
        if not provider.url:
            raise ValidationError(
                "This provider was imported from pasted text: paste the new document instead.",
                fields={"url": ["The provider has no document URL to read again."]},
            )
        _openapi_import(provider, document=None, url=provider.url, auth=provider.auth, secrets=secrets)
    elif provider.kind == ProviderKind.MCP:
        _mcp_prepare(provider, url=provider.url, transport=provider.transport, headers=secrets)
    else:
        _builtin_prepare(provider, provider.builtin_provider, secrets)
    provider.refreshed_at = timezone.now()
    # only what a refresh reads: a concurrent edit of the name or the enabled flag is kept
    provider.save(update_fields=["document", "base_url", "tools", "refreshed_at", "updated_at"])
    return provider


def tool_provider_delete(*, provider: ToolProvider) -> None:
    """Delete a provider; its metered calls stay (without the link)."""
    provider.delete()


# --- kinds ----------------------------------------------------------------------------------------------


def _builtin_prepare(provider: ToolProvider, name: str, secrets: dict[str, str]) -> None:
    from workflows import BUILTIN_PROVIDERS, provider_tools

    info = BUILTIN_PROVIDERS.get(name)
    if info is None:
        choices = ", ".join(sorted(BUILTIN_PROVIDERS)) or "none"
        raise ValidationError(
            "Unknown built-in provider.", fields={"builtin_provider": [f"Must be one of: {choices}."]}
        )
    fields = {f.name: f for f in info.credentials}
    unknown = sorted(set(secrets) - set(fields))
    missing = [f.name for f in info.credentials if f.required and not secrets.get(f.name)]
    if unknown or missing:
        problems = {f"credentials.{key}": ["Not a setting of this provider."] for key in unknown}
        problems |= {f"credentials.{key}": ["This field is required."] for key in missing}
        raise ValidationError(f"Invalid credentials for {info.label}.", fields=problems)
    for field in info.credentials:  # a server of one's own (SearXNG): refused now if it is private
        if field.name.endswith("url") and secrets.get(field.name):
            check_base_url(secrets[field.name], field=f"credentials.{field.name}", setting=WORKFLOW_HTTP)
    try:
        tools = provider_tools(name, secrets, workflow_http_client())
    except ToolError as exc:
        raise ValidationError(
            f"Invalid credentials for {info.label}.", fields={"credentials": [str(exc)]}
        ) from None
    provider.builtin_provider = name
    provider.tools = spec_snapshot(tools)


def _openapi_import(
    provider: ToolProvider,
    *,
    document: str | dict[str, Any] | None,
    url: str,
    auth: Mapping[str, Any],
    secrets: dict[str, str],
) -> None:
    if (document is None) == (not url):
        raise ValidationError(
            "Give the OpenAPI document or its URL.",
            fields={"document": ["Paste the document or give its url (one of the two)."]},
        )
    if url:
        parsed, source = openapi_fetch(url)
        field = "url"
    else:
        parsed, source, field = _document_read(document), "", "document"
    server = openapi_check(parsed, field=field, source_url=source)
    provider.auth = _auth_clean(auth, secrets)
    tools = openapi_document_tools(
        parsed, base_url=server, auth=provider.auth, credentials=secrets, field=field
    )
    provider.document, provider.base_url, provider.url = parsed, server, url
    provider.tools = spec_snapshot(tools)


def _document_read(document: str | dict[str, Any] | None) -> dict[str, Any]:
    if isinstance(document, dict):
        try:
            text = json.dumps(document)
        except (RecursionError, ValueError):
            raise ValidationError(
                "The OpenAPI document cannot be used.", fields={"document": ["It is nested too deeply."]}
            ) from None
        if len(text) > MAX_DOCUMENT_BYTES:
            raise ValidationError(
                "The OpenAPI document is too large.",
                fields={"document": [f"At most {MAX_DOCUMENT_BYTES} bytes are accepted."]},
            )
        document = text  # read as pasted text is: the same depth and alias limits
    return openapi_parse(document or "", field="document")


def _auth_clean(auth: Mapping[str, Any], secrets: Mapping[str, str]) -> dict[str, Any]:
    """The non-secret half of an OpenAPI provider's authentication, checked against the stored secrets."""
    kind = auth.get("type") or "none"
    if kind not in _AUTH_TYPES:
        raise ValidationError("Invalid auth.", fields={"auth.type": [f"Must be one of {list(_AUTH_TYPES)}."]})
    if kind == "none":
        return {"type": "none"}
    if kind == "bearer":
        if not secrets.get("token"):
            raise ValidationError(
                "Missing token.", fields={"credentials.token": ["Bearer auth needs a token."]}
            )
        return {"type": "bearer"}
    where, name = auth.get("in") or "header", str(auth.get("name") or "")
    problems: dict[str, list[str]] = {}
    if where not in ("header", "query"):
        problems["auth.in"] = ["Must be header or query."]
    if not _HEADER_NAME.match(name):
        problems["auth.name"] = ["The header or query parameter name the API key is sent as."]
    if not secrets.get("api_key"):
        problems["credentials.api_key"] = ["API-key auth needs an api_key."]
    if problems:
        raise ValidationError("Invalid auth.", fields=problems)
    return {"type": "api_key", "in": where, "name": name}


def _mcp_prepare(provider: ToolProvider, *, url: str, transport: str, headers: dict[str, str]) -> None:
    check_base_url(url, field="url", setting=WORKFLOW_HTTP)
    if transport not in McpTransport.values:
        raise ValidationError(
            "Invalid transport.", fields={"transport": [f"Must be one of {McpTransport.values}."]}
        )
    bad = [name for name in headers if not _HEADER_NAME.match(name)]
    if bad:
        raise ValidationError("Invalid headers.", fields={"credentials": [f"Not header names: {bad}."]})
    from llmops.tools.mcp_client import list_mcp_tools

    try:
        specs: list[ToolSpec] = async_to_sync(list_mcp_tools)(
            url=url, transport=transport, headers=headers, timeout=MCP_LIST_TIMEOUT_SECONDS
        )
    except ToolError as exc:
        raise ValidationError(
            "The MCP server's tools could not be listed.", fields={"url": [str(exc)]}
        ) from None
    provider.url, provider.transport = url, transport
    provider.tools = [
        {"name": s.name, "description": s.description, "parameters": s.parameters} for s in specs
    ]


def _credentials_merge(stored: dict[str, Any], given: Mapping[str, Any] | None) -> dict[str, str]:
    """``stored`` with ``given`` applied: a string sets a key, an empty string or null removes it."""
    merged = {str(k): str(v) for k, v in stored.items()}
    for key, value in (given or {}).items():
        if value is None or value == "":
            merged.pop(key, None)
        elif isinstance(value, str):
            merged[key] = value
        else:
            raise ValidationError(
                "Invalid credentials.", fields={f"credentials.{key}": ["Must be a string."]}
            )
    return merged


# --- console test ---------------------------------------------------------------------------------------


def tool_test(
    *, workspace: Workspace, name: str, arguments: dict[str, Any], user_id: str | None
) -> dict[str, Any]:
    """Call one of the workspace's tools as a run would (metered as a test); arguments that violate its
    schema are a 400 with the reason, a failing tool is ``ok: false`` with its error."""
    registry = workspace_tool_registry(
        workspace_id=workspace.pk, http=workflow_http_client(), source=ToolCallSource.TEST
    )
    spec = registry.get(name)
    if spec is None:
        raise NotFound(f"No tool {name!r} in this workspace.")
    try:
        jsonschema.validate(arguments, spec.parameters)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        reason = f"{where}: {exc.message}" if where else exc.message
        raise ValidationError(f"Invalid arguments for {name}.", fields={"arguments": [reason]}) from None
    except (
        Exception
    ):  # the tool's own schema is broken (a bad $ref...): the call reports it as the tool's error
        pass
    context = CallContext(run_id="", node_id="console-test", user_id=user_id, workspace_id=str(workspace.pk))
    started = time.monotonic()
    try:
        result = async_to_sync(registry.invoke)(name, arguments, context)
    except ToolError as exc:
        return _test_result(started, error=str(exc))
    return _test_result(started, data=result.data, text=result.text)


def _test_result(started: float, *, data: Any = None, text: str = "", error: str = "") -> dict[str, Any]:
    return {
        "ok": not error,
        "result": data,
        "text": text,
        "error": error or None,
        "duration_ms": int((time.monotonic() - started) * 1000),
    }
