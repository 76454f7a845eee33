"""The outbound-URL guard for model endpoints (base URLs are user input: a classic SSRF vector).

Built on the engine's guard (``workflows.security``): an address that is not globally routable (private,
loopback, link-local incl. the metadata address 169.254.169.254, shared, reserved, multicast, and IPv4
embedded in IPv6) is refused unless a host name or CIDR in ``settings.LLMOPS_OUTBOUND_ALLOWLIST`` allows it.
Well-known metadata host names are refused too.

Three checks use it:

- :func:`check_base_url` when an endpoint is saved: the URL's shape, literal addresses and known names only
  (a public name need not resolve on the machine that saves it);
- :class:`GuardedTransport`, the httpx transport under every OpenAI-protocol client: the engine's
  ``SSRFGuardTransport``, which resolves the host on every request, checks every answer and connects to the
  checked address (no DNS rebinding between check and connect); literal IPs skip the resolver;
- :func:`check_host`, before calls whose client cannot take a transport (Anthropic's SDK).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from llmops.core.errors import ValidationError
from workflows import AllowList, BlockedURLError, SSRFGuardTransport
from workflows.security import check_ip

# The platform's name for the engine's error (other apps import it from here).
BlockedURL = BlockedURLError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data", "metadata.azure.com"})
_RESOLVE_TTL_SECONDS = 60.0
_resolved: dict[str, tuple[float, list[str]]] = {}


def allowlist() -> AllowList:
    """``LLMOPS_OUTBOUND_ALLOWLIST`` as the engine's ``AllowList``."""
    return AllowList.parse(settings.LLMOPS_OUTBOUND_ALLOWLIST)


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _check_ip(address: Address | str, allowed: AllowList) -> None:
    try:
        check_ip(address, allowed)
    except BlockedURLError as exc:
        raise BlockedURLError(f"{exc} (LLMOPS_OUTBOUND_ALLOWLIST)") from None


def check_host_static(host: str) -> None:
    """Refuse literal non-public addresses and local/metadata names, without resolving anything."""
    lowered = host.lower().rstrip(".")
    allowed = allowlist()
    if allowed.allows_host(lowered):
        return
    if lowered in _METADATA_HOSTS or lowered == "localhost" or lowered.endswith(".localhost"):
        raise BlockedURLError(
            f"{host} is a local or metadata host; add it to LLMOPS_OUTBOUND_ALLOWLIST to allow it"
        )
    literal = _literal(lowered)
    if literal is not None:
        _check_ip(literal, allowed)


def check_base_url(url: str, *, field: str) -> str:
    """Validate a base URL's shape and host; raise ``ValidationError`` on ``field``. Returns it unchanged."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(
            "Invalid base URL.", fields={field: ["Must be an http:// or https:// URL with a host."]}
        )
    if parts.username or parts.password:
        raise ValidationError("Invalid base URL.", fields={field: ["Credentials do not belong in the URL."]})
    try:
        check_host_static(parts.hostname)
    except BlockedURLError as exc:
        raise ValidationError("Base URL not allowed.", fields={field: [str(exc)]}) from None
    return url


async def _resolve(host: str) -> list[str]:
    cached = _resolved.get(host)
    now = time.monotonic()
    if cached and now - cached[0] < _RESOLVE_TTL_SECONDS:
        return cached[1]
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))
    _resolved[host] = (now, addresses)
    return addresses


async def check_host(host: str) -> None:
    """Refuse ``host`` if it is or resolves to a non-public address (answers cached for a minute).

    For clients without :class:`GuardedTransport`; an unresolvable host passes (the call then fails to
    connect, which is the clearer error).
    """
    check_host_static(host)
    allowed = allowlist()
    if _literal(host) is not None or allowed.allows_host(host):
        return
    try:
        addresses = await _resolve(host)
    except OSError:
        return
    for address in addresses:
        _check_ip(address, allowed)


class GuardedTransport(SSRFGuardTransport):
    """The engine's pinning SSRF transport, with a fast path for literal IPs (no resolver round trip)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        literal = _literal(request.url.host)
        if literal is None:
            return await super().handle_async_request(request)
        _check_ip(literal, self.allow)
        return await self.inner.handle_async_request(request)


def guarded_async_client(*, timeout: float, **kwargs: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` whose every request (redirects included) passes the SSRF guard."""
    return httpx.AsyncClient(transport=GuardedTransport(allow=allowlist()), timeout=timeout, **kwargs)
