"""Writes on model endpoints: create and update (validated, catalogue defaults filled), credentials.

Publishing, labels and restore are the generic services in ``llmops.core.services``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from llmops.accounts.models import User, Workspace
from llmops.core import services as core_services
from llmops.core.errors import ValidationError
from llmops.core.refs import ref_parse
from llmops.providers.models import CatalogModel, ModelEndpoint
from llmops.providers.schemas import config_validate


def credentials_hint(credentials: dict[str, Any] | None) -> str:
    """A masked hint of the API key (``sk-...abcd``) that is safe to show; empty when there is none."""
    key = str((credentials or {}).get("api_key") or "")
    if len(key) < 12:
        return "***" if key else ""
    prefix = key[:3] if key[:3].isascii() else ""
    return f"{prefix}...{key[-4:]}"


def _check_credentials(credentials: Any) -> dict[str, Any] | None:
    if credentials is None or credentials == {}:
        return None
    if not isinstance(credentials, dict):
        raise ValidationError("Invalid credentials.", fields={"credentials": ["Must be an object."]})
    allowed = {"api_key", "organization", "headers"}
    unknown = sorted(set(credentials) - allowed)
    if unknown:
        raise ValidationError(
            "Invalid credentials.", fields={f"credentials.{name}": ["Unknown field."] for name in unknown}
        )
    for name in ("api_key", "organization"):
        if name in credentials and not isinstance(credentials[name], str):
            raise ValidationError(
                "Invalid credentials.", fields={f"credentials.{name}": ["Must be a string."]}
            )
    headers = credentials.get("headers", {})
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise ValidationError(
            "Invalid credentials.", fields={"credentials.headers": ["Must map header names to strings."]}
        )
    return dict(credentials)


def catalogue_defaults(*, provider_kind: str, model: str) -> dict[str, Any]:
    """The catalogue's values for ``(provider_kind, model)``, or ``{}`` when it is not catalogued."""
    entry = CatalogModel.objects.filter(provider_kind=provider_kind, model=model, is_active=True).first()
    return entry.defaults() if entry else {}


def endpoint_draft_prepare(
    *, workspace: Workspace, draft: Any, slug: str | None, prefix: str = "draft"
) -> dict[str, Any]:
    """Validate a draft, fill what it leaves out from the catalogue, and check its fallbacks.

    Returns the normalised draft (every field present) that is stored.
    """
    if isinstance(draft, dict) and isinstance(draft.get("provider_kind"), str):
        filled = catalogue_defaults(provider_kind=draft["provider_kind"], model=str(draft.get("model", "")))
        draft = {**filled, **draft}
        if "prices" in filled and isinstance(draft.get("prices"), dict):
            draft["prices"] = {**filled["prices"], **draft["prices"]}
    config = config_validate(draft, prefix=prefix)
    _check_fallbacks(workspace=workspace, slug=slug, fallbacks=config.fallbacks, prefix=prefix)
    return config.model_dump(mode="json")


def _check_fallbacks(*, workspace: Workspace, slug: str | None, fallbacks: list[str], prefix: str) -> None:
    for index, ref in enumerate(fallbacks):
        target = ref_parse(ref, kind="model endpoint").slug  # config_validate checked every reference
        path = f"{prefix}.fallbacks.{index}"
        if target == slug:
            raise ValidationError(
                "Invalid fallbacks.", fields={path: ["An endpoint cannot fall back to itself."]}
            )
        if not ModelEndpoint.objects.filter(workspace=workspace, slug=target).exists():
            raise ValidationError("Invalid fallbacks.", fields={path: [f"No model endpoint {target!r}."]})


@transaction.atomic
def model_endpoint_create(
    *,
    workspace: Workspace,
    user: User | None,
    name: str,
    slug: str,
    draft: Any = None,
    description: str = "",
    credentials: Any = None,
) -> ModelEndpoint:
    """Create an endpoint: the draft is validated (400 naming fields), credentials stored encrypted."""
    prepared = endpoint_draft_prepare(
        workspace=workspace, draft=draft if draft is not None else {}, slug=slug
    )
    secret = _check_credentials(credentials)
    endpoint = core_services.resource_create(
        model=ModelEndpoint,
        workspace=workspace,
        user=user,
        name=name,
        slug=slug,
        description=description,
        draft=prepared,
        credentials=secret,
        credentials_hint=credentials_hint(secret),
    )
    assert isinstance(endpoint, ModelEndpoint)
    return endpoint


@transaction.atomic
def model_endpoint_update(*, endpoint: ModelEndpoint, **changes: Any) -> ModelEndpoint:
    """Update name, description, draft and/or credentials (``credentials: null`` or ``{}`` clears them)."""
    if "draft" in changes:
        changes["draft"] = endpoint_draft_prepare(
            workspace=endpoint.workspace, draft=changes["draft"], slug=endpoint.slug
        )
    if "credentials" in changes:
        changes["credentials"] = _check_credentials(changes["credentials"])
        changes["credentials_hint"] = credentials_hint(changes["credentials"])
    updated = core_services.resource_update(resource=endpoint, **changes)
    assert isinstance(updated, ModelEndpoint)
    return updated
