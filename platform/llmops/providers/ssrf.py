"""The platform's outbound-URL guard (base URLs and document URLs are user input: a classic SSRF vector).

Built on the engine's guard (``workflows.security``): an address that is not globally routable (every
non-global block of the IANA special-purpose registries: private, loopback, link-local incl. the metadata
address 169.254.169.254, shared, benchmarking, documentation, site-local, multicast, reserved, and IPv4
embedded in IPv6) is refused unless a host name or CIDR of the caller's allow-list lets it pass. Each use has
its own allow-list setting: model endpoints ``LLMOPS_OUTBOUND_ALLOWLIST``, URL documents
``LLMOPS_KNOWLEDGE_URL_ALLOWLIST``. Well-known metadata host names are refused too.

Two checks use it:

- :func:`check_base_url` when a URL is saved: its shape, literal addresses and known names only (a public
  name need not resolve on the machine that saves it);
- the guarded transports under **every** provider client (OpenAI-protocol clients on ``httpx``, Anthropic's
  SDK on ``httpx2``, rerank and moderation): each request, so each redirect hop, resolves the host, checks
  every answer and connects to the checked address, so a DNS answer cannot change between the check and
  the connection (rebinding). Provider clients do not follow redirects at all (a redirect would carry
  custom credential headers such as ``x-api-key`` to its target) and ignore proxy variables (a proxy would
  hide the destination from the guard).
"""

from __future__ import annotations

import ipaddress
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import httpx2
from django.conf import settings

from llmops.core.errors import ValidationError
from workflows import AllowList, BlockedURLError, SSRFGuardSyncTransport, SSRFGuardTransport
from workflows.security import check_ip, check_url, check_url_async

# The platform's name for the engine's error (other apps import it from here).
BlockedURL = BlockedURLError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

MODEL_ENDPOINTS: Final = "LLMOPS_OUTBOUND_ALLOWLIST"
URL_DOCUMENTS: Final = "LLMOPS_KNOWLEDGE_URL_ALLOWLIST"
_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data", "metadata.azure.com"})


def allowlist(setting: str = MODEL_ENDPOINTS) -> AllowList:
    """The allow-list setting ``setting`` (model endpoints' by default) as the engine's ``AllowList``."""
    return AllowList.parse(getattr(settings, setting))


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _check_ip(address: Address | str, allowed: AllowList, setting: str = MODEL_ENDPOINTS) -> None:
    try:
        check_ip(address, allowed)
    except BlockedURLError as exc:
        raise BlockedURLError(f"{exc} ({setting})") from None


def check_host_static(host: str, *, setting: str = MODEL_ENDPOINTS) -> None:
    """Refuse literal non-public addresses and local/metadata names, without resolving anything."""
    lowered = host.lower().rstrip(".")
    allowed = allowlist(setting)
    if allowed.allows_host(lowered):
        return
    if lowered in _METADATA_HOSTS or lowered == "localhost" or lowered.endswith(".localhost"):
        raise BlockedURLError(f"{host} is a local or metadata host; add it to {setting} to allow it")
    literal = _literal(lowered)
    if literal is not None:
        _check_ip(literal, allowed, setting)


def check_base_url(url: str, *, field: str, setting: str = MODEL_ENDPOINTS) -> str:
    """Validate a URL's shape and host against ``setting``'s allow-list; raise ``ValidationError`` on
    ``field``. Returns it unchanged."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(
            "Invalid base URL.", fields={field: ["Must be an http:// or https:// URL with a host."]}
        )
    if parts.username or parts.password:
        raise ValidationError("Invalid base URL.", fields={field: ["Credentials do not belong in the URL."]})
    try:
        check_host_static(parts.hostname, setting=setting)
    except BlockedURLError as exc:
        raise ValidationError("URL not allowed.", fields={field: [str(exc)]}) from None
    return url


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


def _pinned(request: Any, address: str) -> Any:
    """``request`` sent to the checked ``address``, with the original Host header and TLS name (httpx and
    httpx2 requests alike)."""
    host = request.url.host
    if address == host:
        return request
    request.url = request.url.copy_with(host=address)
    request.extensions = {**request.extensions, "sni_hostname": host}
    request.headers.setdefault("host", host)
    return request


async def _checked_async(url: str, allowed: AllowList) -> str:
    """The address to connect to for ``url``: a literal is checked as is, a name is resolved once."""
    literal = _literal(httpx.URL(url).host)
    if literal is not None:
        _check_ip(literal, allowed)
        return str(literal)
    return (await check_url_async(url, allow=allowed))[0]


class GuardedTransport(SSRFGuardTransport):
    """The engine's pinning SSRF transport (``httpx``), with a fast path for literal IPs."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        literal = _literal(request.url.host)
        if literal is None:
            return await super().handle_async_request(request)
        _check_ip(literal, self.allow)
        return await self.inner.handle_async_request(request)


class GuardedTransport2(httpx2.AsyncBaseTransport):
    """The same guard for ``httpx2``, the HTTP library of Anthropic's SDK (it refuses ``httpx`` objects)."""

    def __init__(self, allow: AllowList, inner: httpx2.AsyncBaseTransport | None = None) -> None:
        self.allow = allow
        self.inner = inner or httpx2.AsyncHTTPTransport(trust_env=False)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Check, pin, send."""
        address = await _checked_async(str(request.url), self.allow)
        return await self.inner.handle_async_request(_pinned(request, address))

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self.inner.aclose()


class GuardedSyncTransport2(httpx2.BaseTransport):
    """The synchronous twin of :class:`GuardedTransport2` (for the SDK's sync client)."""

    def __init__(self, allow: AllowList, inner: httpx2.BaseTransport | None = None) -> None:
        self.allow = allow
        self.inner = inner or httpx2.HTTPTransport(trust_env=False)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Check, pin, send."""
        address = check_url(str(request.url), allow=self.allow)[0]
        return self.inner.handle_request(_pinned(request, address))

    def close(self) -> None:
        """Close the wrapped transport."""
        self.inner.close()


def guarded_async_client(*, timeout: float, **kwargs: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for provider calls: every request passes the guard, no redirects, no proxy."""
    return httpx.AsyncClient(
        transport=GuardedTransport(allow=allowlist()), timeout=timeout, trust_env=False,
        follow_redirects=False, **kwargs,
    )  # fmt: skip


def guarded_sync_client(*, timeout: float) -> httpx.Client:
    """The synchronous :func:`guarded_async_client` (the SDKs build one beside the async one)."""
    return httpx.Client(
        transport=SSRFGuardSyncTransport(allowlist()),
        timeout=timeout,
        trust_env=False,
        follow_redirects=False,
    )


def guarded_async_client2(*, timeout: float) -> httpx2.AsyncClient:
    """:func:`guarded_async_client` on ``httpx2`` (Anthropic's SDK)."""
    return httpx2.AsyncClient(
        transport=GuardedTransport2(allowlist()), timeout=timeout, trust_env=False, follow_redirects=False
    )


def guarded_sync_client2(*, timeout: float) -> httpx2.Client:
    """The synchronous :func:`guarded_async_client2`."""
    return httpx2.Client(
        transport=GuardedSyncTransport2(allowlist()), timeout=timeout, trust_env=False, follow_redirects=False
    )
