"""The SSRF guard: every class of non-public address is refused unless allow-listed."""

from __future__ import annotations

import httpx
import pytest

from workflows import BlockedURLError
from workflows.security import (
    SSRFGuardSyncTransport,
    SSRFGuardTransport,
    check_ip,
    check_url,
    check_url_async,
)

BLOCKED = {
    "private 10/8": "10.1.2.3",
    "private 172.16/12": "172.16.5.4",
    "private 192.168/16": "192.168.0.1",
    "loopback": "127.0.0.1",
    "loopback other": "127.9.9.9",
    "link-local": "169.254.1.1",
    "cloud metadata": "169.254.169.254",
    "unspecified": "0.0.0.0",
    "multicast": "224.0.0.1",
    "reserved": "240.0.0.1",
    "broadcast": "255.255.255.255",
    "shared (CGNAT)": "100.64.0.1",
    "ipv6 loopback": "::1",
    "ipv6 unspecified": "::",
    "ipv6 unique local": "fc00::1",
    "ipv6 unique local fd": "fd12:3456::1",
    "ipv6 link-local": "fe80::1",
    "ipv6 multicast": "ff02::1",
    "ipv4-mapped loopback": "::ffff:127.0.0.1",
    "ipv4-mapped metadata": "::ffff:169.254.169.254",
    "ipv4-mapped private": "::ffff:10.0.0.1",
    "6to4 of loopback": "2002:7f00:1::",
    "nat64 of private": "64:ff9b::a00:1",
    # IANA special-purpose blocks that ipaddress (Python 3.11) calls global, or that are easy to forget
    "ipv6 site-local (deprecated)": "fec0::1",
    "6to4 relay anycast": "192.88.99.1",
    "this network": "0.1.2.3",
    "benchmarking": "198.18.0.1",
    "benchmarking upper": "198.19.255.254",
    "shared upper": "100.127.255.254",
    "ietf protocol assignments": "192.0.0.8",
    "documentation test-net-1": "192.0.2.1",
    "documentation test-net-3": "203.0.113.7",
    "6to4 of private": "2002:a00:1::",
    "6to4 of metadata": "2002:a9fe:a9fe::",
    "nat64 of loopback": "64:ff9b::7f00:1",
    "nat64 local-use": "64:ff9b:1::a00:1",
    "teredo": "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "ipv4-compatible loopback": "::127.0.0.1",
    "ipv4-mapped public": "::ffff:8.8.8.8",
    "ipv6 discard-only": "100::1",
    "ipv6 documentation": "2001:db8::1",
    "ipv6 documentation 3fff": "3fff::1",
    "srv6 sid": "5f00::1",
    "ipv6 multicast global scope": "ff0e::1",
    "ipv4 multicast upper": "239.255.255.250",
}


@pytest.mark.parametrize("address", BLOCKED.values(), ids=BLOCKED.keys())
def test_non_public_addresses_are_refused(address: str) -> None:
    with pytest.raises(BlockedURLError):
        check_ip(address)
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(BlockedURLError):
        check_url(f"http://{host}:8080/path")


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888"])
def test_public_addresses_pass(address: str) -> None:
    check_ip(address)


@pytest.mark.parametrize("url", ["http://2130706433/", "http://0x7f000001/", "http://127.1/"])
def test_alternative_ip_spellings_resolve_to_what_they_mean(url: str) -> None:
    with pytest.raises(BlockedURLError, match="loopback"):
        check_url(url)


@pytest.mark.parametrize(
    ("allow", "address"),
    [
        (["127.0.0.1"], "127.0.0.1"),
        (["10.0.0.0/8"], "10.20.30.40"),
        (["169.254.169.254/32"], "169.254.169.254"),
        (["127.0.0.0/8"], "::ffff:127.0.0.1"),
        (["fc00::/7"], "fd00::5"),
    ],
)
def test_allow_listed_networks_pass(allow: list[str], address: str) -> None:
    check_ip(address, allow)


def test_allow_listed_host_names_pass_without_resolution() -> None:
    assert check_url("http://internal.example/x", allow=["*.example", "internal.example"]) == [
        "internal.example"
    ]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://x/", "ftp://example.com/"])
def test_only_http_schemes_are_allowed(url: str) -> None:
    with pytest.raises(BlockedURLError, match="scheme"):
        check_url(url)


async def test_async_check_matches_the_sync_one() -> None:
    with pytest.raises(BlockedURLError):
        await check_url_async("http://[::ffff:10.0.0.1]/")
    assert await check_url_async("http://127.0.0.1/", allow=["127.0.0.1"]) == ["127.0.0.1"]


async def test_transport_connects_to_the_checked_address_keeping_host_and_sni() -> None:
    # given a name resolving to loopback addresses, allow-listed by network
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="ok")

    transport = SSRFGuardTransport(["127.0.0.0/8", "::1/128"], inner=httpx.MockTransport(handler))
    # when
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.get("http://localhost:8080/x")
    # then the connection goes to the IP that was checked, not to a second DNS answer
    assert response.text == "ok"
    assert seen[0].url.host in ("127.0.0.1", "::1")
    assert seen[0].headers["host"] == "localhost:8080"
    assert seen[0].extensions["sni_hostname"] == "localhost"


def test_sync_transport_refuses_metadata_address() -> None:
    with httpx.Client(transport=SSRFGuardSyncTransport()) as client, pytest.raises(BlockedURLError):
        client.get("http://169.254.169.254/latest/meta-data/")
