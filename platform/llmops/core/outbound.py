"""The one home of the outbound-HTTP policy: the SSRF guard on every URL a user controls.

Every outbound call to such a URL gets its check, guarded client or transport here, built from its own
allow-list setting (each use its own; the setting's name is also the policy's name in messages):

- model endpoints (every provider kind, rerank and moderation): ``LLMOPS_OUTBOUND_ALLOWLIST``
  (:func:`guarded_async_client` and friends);
- URL documents (knowledge imports): ``LLMOPS_KNOWLEDGE_URL_ALLOWLIST`` (:func:`url_document_client`);
- webhooks of async runs: ``LLMOPS_WEBHOOK_ALLOWLIST`` (:func:`url_check`, :func:`webhook_client`);
- workflow HTTP-request nodes and tools: ``LLMOPS_WORKFLOW_HTTP_ALLOWLIST`` (:func:`workflow_http_client`).

Built on the engine's guard (``workflows.security``): an address that is not globally routable (every
non-global block of the IANA special-purpose registries: private, loopback, link-local incl. the metadata
address 169.254.169.254, shared, benchmarking, documentation, site-local, multicast, reserved, and IPv4
embedded in IPv6) is refused unless a host name or CIDR of the use's allow-list lets it pass. Well-known
metadata host names are refused too when a URL is saved.

Two checks use it:

- :func:`check_base_url` when a URL is saved: its shape, literal addresses and known names only (a public
  name need not resolve on the machine that saves it);
- the guarded transports under every client built here: each request, so each redirect hop, resolves the
  host, checks every answer and connects to the checked address, so a DNS answer cannot change between the
  check and the connection (rebinding). Provider and webhook clients follow no redirects (a provider
  redirect would carry custom credential headers such as ``x-api-key`` to its target); URL documents follow
  them, each hop checked. No client reads proxy variables (a proxy would hide the destination from the
  guard).
"""

from __future__ import annotations

import functools
import ipaddress
import ssl
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import httpx2
from django.conf import settings

from llmops.core.errors import ValidationError
from workflows import (
    AllowList,
    BlockedURLError,
    GuardedHttpClient,
    SSRFGuardSyncTransport,
    SSRFGuardTransport,
)
from workflows.security import check_ip, check_url, check_url_async

# The platform's name for the engine's error (other apps import it from here).
BlockedURL = BlockedURLError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

MODEL_ENDPOINTS: Final = "LLMOPS_OUTBOUND_ALLOWLIST"
URL_DOCUMENTS: Final = "LLMOPS_KNOWLEDGE_URL_ALLOWLIST"
WEBHOOKS: Final = "LLMOPS_WEBHOOK_ALLOWLIST"
WORKFLOW_HTTP: Final = "LLMOPS_WORKFLOW_HTTP_ALLOWLIST"
_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data", "metadata.azure.com"})


def allowlist(setting: str = MODEL_ENDPOINTS) -> AllowList:
    """The allow-list setting ``setting`` (model endpoints' by default) as the engine's ``AllowList``."""
    return AllowList.parse(getattr(settings, setting))


def url_check(url: str, *, setting: str) -> list[str]:
    """Resolve ``url``'s host now (blocking DNS) and check every address against ``setting``'s allow-list;
    returns the addresses, raises ``BlockedURLError`` (for a URL checked before it is stored, e.g. a webhook's)."""
    return check_url(url, allow=allowlist(setting))


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
    try:
        parts = urlsplit(url)
        hostname, _ = parts.hostname, parts.port  # a malformed host ("http://[::1") or port raises here
    except ValueError:
        hostname = None
    if hostname is None or parts.scheme not in ("http", "https"):
        raise ValidationError(
            "Invalid base URL.", fields={field: ["Must be an http:// or https:// URL with a host."]}
        )
    if parts.username or parts.password:
        raise ValidationError("Invalid base URL.", fields={field: ["Credentials do not belong in the URL."]})
    try:
        check_host_static(hostname, setting=setting)
    except BlockedURLError as exc:
        raise ValidationError("URL not allowed.", fields={field: [str(exc)]}) from None
    return url


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


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's one verifying TLS context (the CA bundle, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``).

    Loading the CA bundle costs 20-40 ms (more on a busy host). Every transport used to load its own, and
    provider clients are built per event loop, so a sync caller (a knowledge search, a worker's node) paid
    it twice on every query embedding. An ``SSLContext`` is safe to share between threads and loops.
    """
    return httpx.create_ssl_context()


def _async_inner() -> httpx.AsyncHTTPTransport:
    return httpx.AsyncHTTPTransport(verify=tls_context(), trust_env=False)


class GuardedTransport(SSRFGuardTransport):
    """The engine's pinning SSRF transport (``httpx``), with a fast path for literal IPs."""

    def __init__(self, allow: AllowList, setting: str = MODEL_ENDPOINTS) -> None:
        super().__init__(allow, inner=_async_inner())
        self.setting = setting

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        literal = _literal(request.url.host)
        if literal is None:
            try:
                return await super().handle_async_request(request)
            except BlockedURLError as exc:
                raise BlockedURLError(f"{exc} ({self.setting})") from None
        _check_ip(literal, self.allow, self.setting)
        return await self.inner.handle_async_request(request)


class GuardedTransport2(httpx2.AsyncBaseTransport):
    """The same guard for ``httpx2``, the HTTP library of Anthropic's SDK (it refuses ``httpx`` objects)."""

    def __init__(self, allow: AllowList, inner: httpx2.AsyncBaseTransport | None = None) -> None:
        self.allow = allow
        self.inner = inner or httpx2.AsyncHTTPTransport(verify=tls_context(), trust_env=False)

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
        self.inner = inner or httpx2.HTTPTransport(verify=tls_context(), trust_env=False)

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
        transport=SSRFGuardSyncTransport(
            allowlist(), inner=httpx.HTTPTransport(verify=tls_context(), trust_env=False)
        ),
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


def url_document_client(*, timeout: float) -> httpx.Client:
    """An ``httpx.Client`` for fetching URL documents: redirects followed, every hop checked and pinned."""
    return httpx.Client(
        transport=SSRFGuardSyncTransport(allow=allowlist(URL_DOCUMENTS)),
        timeout=timeout,
        follow_redirects=True,
        trust_env=False,
    )


def webhook_client(*, timeout: float) -> httpx.Client:
    """An ``httpx.Client`` for webhook deliveries: every request passes the guard, no redirects, no proxy."""
    return httpx.Client(
        transport=SSRFGuardSyncTransport(allowlist(WEBHOOKS)),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


def workflow_http_client() -> GuardedHttpClient:
    """The engine's ``HttpClient`` port for HTTP-request nodes and tools, on the workflow allow-list."""
    return GuardedHttpClient(allow=allowlist(WORKFLOW_HTTP))
