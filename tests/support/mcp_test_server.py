"""A real MCP server for tests (the official SDK's FastMCP under uvicorn, on loopback, in a thread).

Tools: ``add`` (two integers), ``echo_header`` (the ``Authorization`` header the call arrived with, to check
that configured headers reach the server), ``slow`` (sleeps ``seconds``), ``fail`` (raises) and ``big``
(``size`` characters). ``mcp_test_server("streamable_http")`` serves ``/mcp``; ``"sse"`` serves ``/sse``.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from mcp.server.fastmcp import Context, FastMCP


def build_server() -> FastMCP:
    """The test tools."""
    server = FastMCP("test-tools", instructions="Tools for tests.")

    @server.tool(description="Add two integers.")
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool(description="The Authorization header of this call.")
    def echo_header(ctx: Context) -> str:  # type: ignore[type-arg]
        request = ctx.request_context.request
        return str(request.headers.get("authorization", "")) if request is not None else ""

    @server.tool(description="Sleep, then answer.")
    async def slow(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "done"

    @server.tool(description="Always fails.")
    def fail() -> str:
        raise RuntimeError("the tool broke on purpose")

    @server.tool(description="A long text.")
    def big(size: int) -> str:
        return "x" * size

    return server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def mcp_test_server(transport: str) -> Iterator[str]:
    """Serve the test tools on loopback; yields the endpoint URL."""
    server = build_server()
    app = server.sse_app() if transport == "sse" else server.streamable_http_app()
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    http = uvicorn.Server(config)
    thread = threading.Thread(target=http.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not http.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the MCP test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/{'sse' if transport == 'sse' else 'mcp'}"
    finally:
        http.should_exit = True
        thread.join(timeout=10)
