"""Writes on model endpoints: create and update (validated, catalogue defaults filled), credentials.

Credentials belong to the host they were given for: changing where the draft sends them (the scheme, host
or port of its effective base URL, by an update or by restoring a version) is an admin action, and it clears
the stored credentials unless new ones come in the same request, so an editor cannot point an admin's key at
a server of their own. Publishing and labels are the generic services in ``llmops.core.versioning``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from llmops.accounts.models import Role, User, Workspace, role_at_least
from llmops.core import versioning
from llmops.core.errors import PermissionDenied, ValidationError
from llmops.core.refs import ref_parse
from llmops.providers.models import CatalogModel, ModelEndpoint
from llmops.providers.price_changes import catalogue_prices_now
from llmops.providers.schemas import config_validate
from llmops.providers.selectors import draft_origin

HOST_CHANGE_ROLE = Role.ADMIN


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
    """The catalogue's values for ``(provider_kind, model)`` (its list prices in effect now), or ``{}`` when it
    is not catalogued."""
    entry = CatalogModel.objects.filter(provider_kind=provider_kind, model=model, is_active=True).first()
    if entry is None:
        return {}
    return {**entry.defaults(), "prices": catalogue_prices_now(entry)}


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
    endpoint = versioning.resource_create(
        model=ModelEndpoint,
        workspace=workspace,
        user=user,
        name=name,
        slug=slug,
        description=description,
        draft=prepared,
        credentials=secret,
        credentials_hint=credentials_hint(secret),
        credentials_origin=draft_origin(prepared) if secret else "",
    )
    assert isinstance(endpoint, ModelEndpoint)
    return endpoint


def _host_change_check(*, endpoint: ModelEndpoint, new_draft: Any, role: str) -> bool:
    """Whether ``new_draft`` sends calls to another origin than the stored draft; refused below admin."""
    if draft_origin(new_draft) == draft_origin(endpoint.draft):
        return False
    if not role_at_least(role, HOST_CHANGE_ROLE):
        raise PermissionDenied(
            f"Changing where model endpoint {endpoint.slug!r} sends its calls (to {draft_origin(new_draft)}) "
            f"needs the {HOST_CHANGE_ROLE} role: the stored credentials were given for the current host. "
            "Ask an admin, or create a new endpoint with its own credentials."
        )
    return True


@transaction.atomic
def model_endpoint_update(
    *, endpoint: ModelEndpoint, role: str, if_match: str | None = None, **changes: Any
) -> ModelEndpoint:
    """Update name, description, draft and/or credentials (``credentials: null`` or ``{}`` clears them);
    ``if_match`` as in :func:`versioning.resource_update`.

    ``role`` is the caller's workspace role: a draft that moves the endpoint to another scheme, host or port
    needs admin, and clears the stored credentials unless ``credentials`` are given too.
    """
    if "draft" in changes:
        changes["draft"] = endpoint_draft_prepare(
            workspace=endpoint.workspace, draft=changes["draft"], slug=endpoint.slug
        )
        if _host_change_check(endpoint=endpoint, new_draft=changes["draft"], role=role):
            changes.setdefault("credentials", None)
    if "credentials" in changes:
        changes["credentials"] = _check_credentials(changes["credentials"])
        changes["credentials_hint"] = credentials_hint(changes["credentials"])
        bound = draft_origin(changes.get("draft", endpoint.draft))
        changes["credentials_origin"] = bound if changes["credentials"] else ""
    updated = versioning.resource_update(resource=endpoint, if_match=if_match, **changes)
    assert isinstance(updated, ModelEndpoint)
    return updated


@transaction.atomic
def model_endpoint_restore(*, endpoint: ModelEndpoint, number: int, user: User, role: str) -> ModelEndpoint:
    """Copy version ``number`` into the draft; a version on another host is an admin action that clears
    the stored credentials (as an update to that host would)."""
    version = versioning.version_get(resource=endpoint, number=number)
    moved = _host_change_check(endpoint=endpoint, new_draft=version.content, role=role)
    restored = versioning.version_restore(resource=endpoint, number=number, user=user)
    assert isinstance(restored, ModelEndpoint)
    if moved:
        restored = model_endpoint_update(endpoint=restored, role=role, credentials=None)
    return restored
