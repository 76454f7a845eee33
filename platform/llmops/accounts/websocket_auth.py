"""Websocket authentication: the console's session cookie, or an API token for scripts.

A token travels as ``Authorization: Token <key>`` (non-browser clients) or ``?token=<key>`` (browsers
cannot set headers on a websocket). Knox compares digests, so tokens stay hashed at rest.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings
from knox.auth import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed


def _token_from_scope(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, key = value.decode("latin-1").partition(" ")
            if scheme.lower() == "token" and key:
                return str(key.strip())
    query = parse_qs(scope.get("query_string", b"").decode())
    tokens = query.get("token")
    return tokens[0] if tokens else None


def _user_for_token(key: str) -> Any:
    try:
        user, _token = TokenAuthentication().authenticate_credentials(key.encode())
    except AuthenticationFailed:
        return None
    return user


class TokenAuthMiddleware(BaseMiddleware):  # type: ignore[misc]
    """Sets ``scope['user']`` from an API token when one is presented; otherwise leaves the session user."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        key = _token_from_scope(scope)
        if key:
            user = await database_sync_to_async(_user_for_token)(key)
            if user is not None:
                scope = {**scope, "user": user}
        return await super().__call__(scope, receive, send)


def TokenAuthMiddlewareStack(inner: Any) -> Any:
    """Session auth first, then a token (which wins when valid)."""
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))


class BrowserOriginValidator(OriginValidator):  # type: ignore[misc]
    """Refuse websockets whose ``Origin`` is not an allowed host (cross-site websocket hijacking).

    Browsers always send ``Origin``; scripts send none and must then authenticate with a token, so a
    missing ``Origin`` is let through (channels' own validator refuses it, which locks out every script).
    """

    def valid_origin(self, parsed_origin: Any) -> bool:
        return parsed_origin is None or bool(self.validate_origin(parsed_origin))


def OriginCheck(inner: Any) -> Any:
    """Wrap ``inner`` with :class:`BrowserOriginValidator` over ``ALLOWED_HOSTS``."""
    return BrowserOriginValidator(inner, settings.ALLOWED_HOSTS)
