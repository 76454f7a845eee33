"""Websocket authentication: the console's session cookie, an API token in a header, or a one-use ticket.

- ``Authorization: Token <key>``: scripts and other non-browser clients.
- ``?ticket=<ticket>``: browsers, which cannot set headers on a websocket. ``POST /api/ws-ticket/`` (session
  or token auth) mints a ticket that is good for one connection within ``WS_TICKET_SECONDS``, bound to its
  user and to the credential that minted it. A URL ends up in access logs; a ticket there is already spent.
- ``?token=<key>`` (the long-lived API token in the URL) is refused: the socket is closed as unauthenticated.

Every socket remembers the credential it was opened with (``scope["llmops.credential"]``), so a socket dies with
its token or session (see :mod:`llmops.accounts.websocket_access`).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import Any, TypedDict
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.module_loading import import_string
from knox.auth import TokenAuthentication
from knox.models import AuthToken
from redis.exceptions import RedisError
from rest_framework.exceptions import AuthenticationFailed

from llmops.accounts.models import User
from llmops.core.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

CREDENTIAL_SCOPE_KEY = "llmops.credential"
AUTH_ERROR_SCOPE_KEY = "llmops.auth_error"
TOKEN_IN_URL_REFUSED = (
    "API tokens are not accepted in the URL; connect with ?ticket= from POST /api/ws-ticket/."
)


def token_credential(token: AuthToken) -> str:
    """The credential string of a knox token (its digest, the primary key; never the token itself)."""
    return f"token:{token.digest}"


def session_credential(session_key: str) -> str:
    """The credential string of a signed-in session."""
    return f"session:{session_key}"


def credential_is_live(*, user: User, credential: str | None) -> bool:
    """Whether the token or session a socket was opened with still signs ``user`` in."""
    kind, _, value = (credential or "").partition(":")
    if kind == "token":
        live = Q(expiry__isnull=True) | Q(expiry__gt=timezone.now())
        return bool(AuthToken.objects.filter(live, digest=value, user=user).exists())
    if kind == "session":
        session: dict[str, Any] = import_string(f"{settings.SESSION_ENGINE}.SessionStore")(
            session_key=value
        ).load()
        return str(session.get(SESSION_KEY)) == str(user.pk) and constant_time_compare(
            session.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()
        )
    return False


class _Ticket(TypedDict):
    user: int
    credential: str


def _ticket_cache_key(ticket: str) -> str:
    # Stored under a hash: whoever reads Redis does not get a usable ticket.
    return "ws-ticket:" + hashlib.sha256(ticket.encode()).hexdigest()


def websocket_ticket_issue(*, user: User, credential: str) -> str:
    """Mint a one-use ticket that opens one websocket as ``user`` within ``WS_TICKET_SECONDS``."""
    ticket = secrets.token_urlsafe(32)
    payload: _Ticket = {"user": user.pk, "credential": credential}
    try:
        cache.set(_ticket_cache_key(ticket), payload, timeout=settings.WS_TICKET_SECONDS)
    except RedisError:
        raise ServiceUnavailable("Websocket tickets are unavailable right now; retry shortly.") from None
    return ticket


def _redeem_ticket(ticket: str) -> tuple[User, str] | None:
    key = _ticket_cache_key(ticket)
    try:
        payload: _Ticket | None = cache.get(key)
        # Only the connection whose delete removed the key gets in: two racing uses of a ticket get one socket.
        if payload is None or not cache.delete(key):
            return None
    except RedisError:
        logger.warning("websocket ticket not redeemed: Redis unavailable", exc_info=True)
        return None
    user = User.objects.filter(pk=payload["user"], is_active=True).first()
    if user is None or not credential_is_live(user=user, credential=payload["credential"]):
        return None
    return user, payload["credential"]


def _authenticate_token(key: str) -> tuple[User, str] | None:
    try:
        user, token = TokenAuthentication().authenticate_credentials(key.encode())
    except AuthenticationFailed:
        return None
    return user, token_credential(token)


def _header_token(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, key = value.decode("latin-1").partition(" ")
            if scheme.lower() == "token" and key.strip():
                return str(key.strip())
    return None


class TokenAuthMiddleware(BaseMiddleware):  # type: ignore[misc]
    """Sets ``scope['user']`` from a header token or a ticket; a presented credential that fails (or a token in
    the URL) makes the socket anonymous rather than falling back to the session."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        return await super().__call__(await self._authenticate(scope), receive, send)

    async def _authenticate(self, scope: dict[str, Any]) -> dict[str, Any]:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        header_token, ticket = _header_token(scope), (query.get("ticket") or [None])[0]
        if "token" in query:
            logger.warning("websocket refused: API token in the URL of %s", scope.get("path"))
            return {**scope, "user": AnonymousUser(), AUTH_ERROR_SCOPE_KEY: TOKEN_IN_URL_REFUSED}
        if header_token is None and ticket is None:
            session = scope.get("session")
            key = getattr(session, "session_key", None)
            return {**scope, CREDENTIAL_SCOPE_KEY: session_credential(key) if key else None}
        if header_token is not None:
            found = await database_sync_to_async(_authenticate_token)(header_token)
        else:
            found = await database_sync_to_async(_redeem_ticket)(str(ticket))
        if found is None:
            return {**scope, "user": AnonymousUser(), CREDENTIAL_SCOPE_KEY: None}
        return {**scope, "user": found[0], CREDENTIAL_SCOPE_KEY: found[1]}


def TokenAuthMiddlewareStack(inner: Any) -> Any:
    """Session auth first, then a header token or ticket (which replaces it when presented)."""
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
