"""Reads on model endpoints: the workspace's endpoints, and resolving a reference to a pinned config."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.db.models import F, QuerySet

from llmops.accounts.models import Workspace
from llmops.core.errors import NotFound, ValidationError
from llmops.core.refs import DRAFT, ResourceRef, ref_parse
from llmops.providers.kinds import DEFAULT_BASE_URLS
from llmops.providers.models import CatalogModel, ModelEndpoint, ModelEndpointVersion
from llmops.providers.schemas import EndpointConfig, config_parse


@dataclass(frozen=True)
class ResolvedEndpoint:
    """An endpoint pinned to one configuration: what the gateway calls and what usage rows point at.

    ``version`` is ``None`` when the draft was used (no version published yet, or a connection test).
    """

    endpoint_id: int
    workspace_id: int
    slug: str
    version: int | None
    config: EndpointConfig
    credentials: dict[str, Any] = field(repr=False)
    content_hash: str = ""

    @property
    def label(self) -> str:
        """``slug`` or ``slug:3`` for messages."""
        return self.slug if self.version is None else f"{self.slug}:{self.version}"

    @property
    def cache_key(self) -> tuple[Any, ...]:
        """Identifies the built client: changes whenever the config or the credentials change."""
        secret = hashlib.sha256(json.dumps(self.credentials, sort_keys=True).encode()).hexdigest()
        return (self.endpoint_id, self.content_hash, secret)


def model_endpoints_for_workspace(*, workspace: Workspace) -> QuerySet[ModelEndpoint]:
    """The workspace's endpoints, by name."""
    return ModelEndpoint.objects.filter(workspace=workspace).select_related("created_by")


def catalogue_models(*, provider_kind: str | None = None) -> QuerySet[CatalogModel]:
    """Active catalogue entries, optionally of one provider kind."""
    queryset = CatalogModel.objects.filter(is_active=True)
    return queryset.filter(provider_kind=provider_kind) if provider_kind else queryset


def url_origin(url: str) -> str:
    """``scheme://host:port`` of ``url``, normalised (lower case, default port filled): where a request and
    its credentials go."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or {"http": 80, "https": 443}.get(scheme)
    host = (parts.hostname or "").rstrip(".")
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def draft_origin(draft: Any) -> str:
    """Where a draft's calls (and so its credentials) go: ``scheme://host:port`` of its effective base URL."""
    draft = draft if isinstance(draft, dict) else {}
    base_url = str(draft.get("base_url") or DEFAULT_BASE_URLS.get(str(draft.get("provider_kind", "")), ""))
    return url_origin(base_url)


def _credentials_for(endpoint: ModelEndpoint, config: EndpointConfig) -> dict[str, Any]:
    """The stored credentials when ``config`` calls the origin they were given for; otherwise none (an old
    version or a label on another host must not carry the current host's key there)."""
    if not endpoint.credentials:
        return {}
    # A row written outside the services (a test factory) has no origin yet: its draft's is the one.
    bound = endpoint.credentials_origin or draft_origin(endpoint.draft)
    return dict(endpoint.credentials) if url_origin(config.effective_base_url) == bound else {}


def _pinned(endpoint: ModelEndpoint, version: ModelEndpointVersion | None) -> ResolvedEndpoint:
    content = version.content if version else endpoint.draft
    try:
        config = config_parse(content)
    except Exception:  # pydantic's error names no secrets, but a broken draft is the caller's problem
        raise ValidationError(
            f"Model endpoint {endpoint.slug!r} has an invalid configuration; fix and save its draft."
        ) from None
    return ResolvedEndpoint(
        endpoint_id=endpoint.pk,
        workspace_id=endpoint.workspace_id,
        slug=endpoint.slug,
        version=version.number if version else None,
        config=config,
        credentials=_credentials_for(endpoint, config),
        content_hash=version.content_hash if version else endpoint.draft_hash,
    )


def endpoint_resolve(*, workspace_id: int, ref: str | ResourceRef) -> ResolvedEndpoint:
    """Resolve ``slug``, ``slug@label``, ``slug:3`` or ``slug@draft`` to a pinned configuration.

    ``slug`` is the latest version, or the draft while none is published. One query on the hot path (the
    version joined with its endpoint). A malformed reference (see ``llmops.core.refs``) is a
    ``ValidationError``; an unknown endpoint, version or label is ``NotFound`` naming it.
    """
    parsed = ref_parse(ref, kind="model endpoint") if isinstance(ref, str) else ref
    slug, label, number = parsed.slug, parsed.label, parsed.number
    version = None if parsed.version == DRAFT else _published_version(workspace_id, parsed)
    if version is not None:
        return _pinned(version.resource, version)
    endpoint = ModelEndpoint.objects.filter(workspace_id=workspace_id, slug=slug).first()
    if endpoint is None:
        raise NotFound(f"No model endpoint {slug!r} in this workspace.")
    if number is not None:
        raise NotFound(f"Model endpoint {slug!r} has no version {number}.")
    if label is not None:
        raise NotFound(f"Model endpoint {slug!r} has no label {label!r}.")
    return _pinned(endpoint, None)  # the draft: asked for, or nothing published yet


def _published_version(workspace_id: int, ref: ResourceRef) -> ModelEndpointVersion | None:
    # The endpoint's own draft is not needed when a version is pinned; skipping it halves the decoding.
    versions = (
        ModelEndpointVersion.objects.select_related("resource")
        .defer("resource__draft", "resource__description")
        .filter(resource__workspace_id=workspace_id, resource__slug=ref.slug)
        .order_by()
    )
    if ref.number is not None:
        versions = versions.filter(number=ref.number)
    elif ref.label is not None:
        versions = versions.filter(labels__name=ref.label)
    else:
        versions = versions.filter(number=F("resource__latest_version_number"))
    return next(iter(versions[:1]), None)


def endpoint_draft_pinned(*, endpoint: ModelEndpoint) -> ResolvedEndpoint:
    """The endpoint's current draft pinned for a call (used by the connection test)."""
    return _pinned(endpoint, None)
