"""What an SSRF attacker controls, staged for real: DNS answers that change between lookups, and HTTP servers
that record what reaches them and answer as scripted (redirects to internal addresses, internal pages).

:class:`ScriptedNetworkLoop` is an asyncio event loop whose resolver answers scripted host names from a script
(one answer per lookup, the last one repeating) and on which every non-loopback address is unreachable. Every
asyncio HTTP stack resolves and connects through the running loop (``loop.getaddrinfo`` and
``loop.create_connection``, which anyio, httpcore, httpx and httpx2 use), so the code under test runs
unchanged; loopback connections are real. Run code on it with ``asyncio.Runner(loop_factory=...)``.

:class:`RecordingServer` is a real HTTP server on a free loopback port that records each request (method,
path, headers) and answers with a fixed status, headers and body, or redirects every path to another base URL.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ScriptedNetworkLoop(asyncio.SelectorEventLoop):
    """Scripted DNS for some names (``{"api.example": ["93.184.215.14", "127.0.0.1"]}``: first lookup
    public, later ones loopback), the real resolver for the rest, and no route to non-loopback addresses."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        super().__init__()
        self.answers = {name: list(script) for name, script in answers.items()}
        self.lookups: list[tuple[str, str]] = []
        self.refused_connections: list[str] = []

    async def getaddrinfo(
        self, host: Any, port: Any, *, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> list[tuple[Any, ...]]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        script = self.answers.get(name)
        if script is None:
            return await super().getaddrinfo(host, port, family=family, type=type, proto=proto, flags=flags)
        address = script.pop(0) if len(script) > 1 else script[0]
        self.lookups.append((name, address))
        number = int(port or 0)
        if ":" in address:
            return [(socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, number, 0, 0))]
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, number))]

    async def create_connection(
        self, protocol_factory: Any, host: Any = None, port: Any = None, **kwargs: Any
    ) -> Any:
        if host is not None and not _is_loopback(str(host)):
            self.refused_connections.append(str(host))
            raise OSError(errno.ENETUNREACH, f"Network is unreachable (scripted network: {host})")
        return await super().create_connection(protocol_factory, host, port, **kwargs)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def run_on(loop_factory: Callable[[], asyncio.AbstractEventLoop], coroutine: Any) -> Any:
    """Run ``coroutine`` to completion on a fresh loop from ``loop_factory``."""
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(coroutine)


@dataclass(frozen=True)
class Seen:
    """A request that reached a :class:`RecordingServer`: headers with lower-case names."""

    method: str
    path: str
    headers: dict[str, str]


class RecordingServer:
    """A loopback HTTP server (127.0.0.1 unless ``host`` names another loopback address) that records every request and answers ``status``/``headers``/``body``, or
    with a 307 to ``redirect_to`` + the request's path when that is set."""

    def __init__(
        self,
        *,
        status: int = 200,
        body: bytes = b"{}",
        content_type: str = "application/json",
        redirect_to: str = "",
        host: str = "127.0.0.1",
    ) -> None:
        self.status, self.body, self.content_type, self.redirect_to = status, body, content_type, redirect_to
        self.host = host
        self.requests: list[Seen] = []
        self._httpd = ThreadingHTTPServer((host, 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://<host>:<port>``."""
        return f"http://{self.host}:{self.port}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                server.requests.append(Seen(self.command, self.path, headers))
                if server.redirect_to:
                    self.send_response(307)
                    self.send_header("Location", server.redirect_to + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(server.status)
                self.send_header("Content-Type", server.content_type)
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@contextmanager
def recording_servers(*servers: RecordingServer) -> Iterator[tuple[RecordingServer, ...]]:
    """Start ``servers`` and stop them afterwards."""
    started: list[RecordingServer] = []
    try:
        for server in servers:
            started.append(server.__enter__())
        yield servers
    finally:
        for server in started:
            server.__exit__()
