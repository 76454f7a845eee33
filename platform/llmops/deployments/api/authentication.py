"""Bearer API keys for the public API (``Authorization: Bearer llm-<prefix>-<secret>``)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from llmops.core.errors import AuthenticationRequired
from llmops.deployments import services
from llmops.deployments.models import ApiKey


class ApiKeyAuthentication(BaseAuthentication):
    """Authenticates a deployment API key; ``request.auth`` is the ``ApiKey``."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, ApiKey] | None:
        header = request.headers.get("Authorization", "")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationRequired("Send the API key as 'Authorization: Bearer <key>'.")
        return AnonymousUser(), services.api_key_authenticate(token=token.strip())

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="llmops"'


class HasApiKey(BasePermission):
    """A valid key is required; scopes are checked by each view."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, ApiKey):
            raise AuthenticationRequired("An API key is required: 'Authorization: Bearer <key>'.")
        return True


class ApiKeySchema(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "llmops.deployments.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "llm-<prefix>-<secret>"}
