"""SSRF guard: refuse requests to non-public addresses unless allow-listed.

Refused: every block of the IANA IPv4 and IPv6 special-purpose registries that is not globally reachable
(private 10/8, 172.16/12, 192.168/16, fc00::/7; loopback; link-local 169.254/16 with the cloud metadata address
169.254.169.254, fe80::/10; shared 100.64/10; "this network" 0/8; benchmarking 198.18/15; documentation;
IETF protocol assignments 192.0.0/24 and 2001::/23), deprecated blocks that still route somewhere private
(site-local fec0::/10, the 6to4 relay anycast 192.88.99/24, 6to4 2002::/16), multicast, reserved, and IPv4
addresses embedded in IPv6 (IPv4-mapped, Teredo, NAT64 64:ff9b::/96 and its local-use 64:ff9b:1::/48).
The table is explicit because ``ipaddress`` lags the registries (Python 3.11 calls fec0::/10, 192.88.99/24,
3fff::/20 and 5f00::/16 global); its ``is_global`` stays as a backstop for anything the table misses.

The transports resolve the host once, check every address, and connect to the checked address (the URL's
host is replaced by the IP, with the original ``Host`` header and TLS SNI/certificate name kept), so a DNS
answer cannot change between the check and the connection (DNS rebinding). Redirects are followed by the
httpx client, and every hop passes through the transport again, so each is checked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from workflows._errors import BlockedURLError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

# Not globally reachable per IANA's special-purpose registries (2025), plus deprecated blocks; each with the
# reason a refusal names. 192.31.196/24, 192.175.48/24 (AS112) and 2620:4f:8000::/48 are global and absent.
_SPECIAL_PURPOSE = tuple(
    (ipaddress.ip_network(network), reason)
    for network, reason in (
        ("0.0.0.0/8", "this-network"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF-protocol"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4-relay"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::ffff:0:0/96", "IPv4-mapped"),
        ("64:ff9b:1::/48", "local-NAT64"),
        ("100::/64", "discard-only"),
        ("100:0:0:1::/64", "dummy"),
        ("2001::/23", "IETF-protocol"),
        ("2001:db8::/32", "documentation"),
        ("2002::/16", "6to4"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "SRv6-SID"),
        ("fc00::/7", "private"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)


@dataclass(frozen=True)
class AllowList:
    """Hosts (exact or ``*.example.com``) and networks (``10.0.0.0/8``, ``127.0.0.1``) the guard lets pass."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, entries: Iterable[str] | AllowList | None) -> AllowList:
        """Build from strings: anything that parses as an IP or CIDR is a network, the rest are host names."""
        if isinstance(entries, AllowList):
            return entries
        hosts, networks = set(), []
        for entry in entries or ():
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                hosts.add(entry.strip().lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        """Whether a host name is allow-listed."""
        host = host.lower().rstrip(".")
        return host in self.hosts or any(h.startswith("*.") and host.endswith(h[1:]) for h in self.hosts)

    def allows_ip(self, ip: IPAddress) -> bool:
        """Whether an address falls in an allow-listed network."""
        return any(ip.version == net.version and ip in net for net in self.networks)


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _category(ip: IPAddress) -> str | None:
    """Why an address is refused, or None when it is public."""
    for network, reason in _SPECIAL_PURPOSE:
        if ip.version == network.version and ip in network:
            return reason
    for name in ("unspecified", "loopback", "link_local", "site_local", "multicast", "reserved", "private"):
        if getattr(ip, f"is_{name}", False):
            return name.replace("_", "-")
    return None if ip.is_global else "non-global"


def check_ip(ip: str | IPAddress, allow: Iterable[str] | AllowList | None = None) -> None:
    """Raise BlockedURLError unless ``ip`` is public or allow-listed."""
    address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    allowed = AllowList.parse(allow)
    if allowed.allows_ip(address):
        return
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        if allowed.allows_ip(embedded):
            return
        reason = _category(embedded)
        if reason:
            raise BlockedURLError(f"address {address} embeds the {reason} address {embedded}")
    reason = _category(address)
    if reason:
        raise BlockedURLError(f"address {address} is {reason}; add it to the allow-list to reach it")


def _split(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BlockedURLError(f"scheme {parts.scheme!r} is not allowed (only http and https)")
    if not parts.hostname:
        raise BlockedURLError(f"URL {url!r} has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise BlockedURLError(str(exc)) from None
    return parts.hostname, port


def _checked(host: str, infos: Iterable[tuple[object, ...]], allowed: AllowList) -> list[str]:
    addresses = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))  # type: ignore[index]
    if not addresses:
        raise BlockedURLError(f"host {host!r} did not resolve")
    for address in addresses:  # every answer must pass: a mixed answer is a rebinding attempt
        check_ip(address, allowed)
    return addresses


def check_url(url: str, *, allow: Iterable[str] | AllowList | None = None) -> list[str]:
    """Resolve a URL's host (blocking DNS) and check every address; returns the addresses to connect to."""
    host, port = _split(url)
    allowed = AllowList.parse(allow)
    if allowed.allows_host(host):
        return [host]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise BlockedURLError(f"cannot resolve {host!r}: {exc}") from None
    return _checked(host, infos, allowed)


async def check_url_async(url: str, *, allow: Iterable[str] | AllowList | None = None) -> list[str]:
    """``check_url`` with non-blocking DNS."""
    host, port = _split(url)
    allowed = AllowList.parse(allow)
    if allowed.allows_host(host):
        return [host]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise BlockedURLError(f"cannot resolve {host!r}: {exc}") from None
    return _checked(host, infos, allowed)


def _pinned(request: httpx.Request, address: str) -> httpx.Request:
    host = request.url.host
    if address == host:
        return request
    # Connect to the checked IP; Host header and TLS name stay the original host's.
    request.url = request.url.copy_with(host=address)
    request.extensions = {**request.extensions, "sni_hostname": host}
    request.headers.setdefault("host", host)
    return request


class SSRFGuardTransport(httpx.AsyncBaseTransport):
    """An httpx async transport that checks and pins every request (so every redirect hop)."""

    def __init__(
        self, allow: Iterable[str] | AllowList | None = None, inner: httpx.AsyncBaseTransport | None = None
    ):
        self.allow = AllowList.parse(allow)
        self.inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Check, pin, send."""
        addresses = await check_url_async(str(request.url), allow=self.allow)
        return await self.inner.handle_async_request(_pinned(request, addresses[0]))

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self.inner.aclose()


class SSRFGuardSyncTransport(httpx.BaseTransport):
    """The synchronous twin of ``SSRFGuardTransport`` (for the platform's own outbound calls)."""

    def __init__(
        self, allow: Iterable[str] | AllowList | None = None, inner: httpx.BaseTransport | None = None
    ):
        self.allow = AllowList.parse(allow)
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Check, pin, send."""
        addresses = check_url(str(request.url), allow=self.allow)
        return self.inner.handle_request(_pinned(request, addresses[0]))

    def close(self) -> None:
        """Close the wrapped transport."""
        self.inner.close()
