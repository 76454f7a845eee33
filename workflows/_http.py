"""The shipped HttpClient: httpx behind the SSRF guard, with a response size cap."""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from workflows._errors import NodeError
from workflows._ports import HttpRequest, HttpResponse
from workflows.security import AllowList, SSRFGuardTransport


class GuardedHttpClient:
    """An HttpClient refusing private, loopback, link-local and metadata addresses unless ``allow``-listed.

    Proxies from the environment are ignored (``trust_env=False``): a proxy would hide the real destination
    from the guard.
    """

    def __init__(self, *, allow: Iterable[str] | AllowList | None = None, max_redirects: int = 5) -> None:
        self.allow = AllowList.parse(allow)
        self.max_redirects = max_redirects

    async def request(self, request: HttpRequest) -> HttpResponse:
        """Send the request; the body is read up to ``request.max_response_bytes``."""
        transport = SSRFGuardTransport(self.allow)
        async with httpx.AsyncClient(
            transport=transport,
            trust_env=False,
            follow_redirects=request.follow_redirects,
            max_redirects=self.max_redirects,
            timeout=request.timeout_seconds,
        ) as client:
            outgoing = client.build_request(
                request.method,
                request.url,
                headers=dict(request.headers),
                params=dict(request.params),
                content=request.content,
            )
            response = await client.send(outgoing, stream=True)
            try:
                content = await _read_capped(response, request.max_response_bytes)
            finally:
                await response.aclose()
        return HttpResponse(response.status_code, dict(response.headers), content, str(response.url))


async def _read_capped(response: httpx.Response, cap: int) -> bytes:
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) > cap:
            raise NodeError(f"response body larger than {cap} bytes")
    return bytes(data)
