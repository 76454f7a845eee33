"""http_request node through the guarded client, against a local server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.workflows._helpers import failure, run_single
from workflows import GuardedHttpClient, HttpRequest, Ports


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/redirect-to-metadata"):
            self.send_response(302)
            self.send_header("location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        if self.path.startswith("/big"):
            self._reply(200, b"x" * 5000, "text/plain")
            return
        body = {"path": self.path, "auth": self.headers.get("authorization")}
        self._reply(200, json.dumps(body).encode(), "application/json")

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        body = {"received": self.rfile.read(length).decode(), "type": self.headers.get("content-type")}
        self._reply(201, json.dumps(body).encode(), "application/json")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def http_node(url: str, **config: Any) -> dict[str, Any]:
    return {"id": "http", "type": "http_request", "config": {"url": url, **config}}


OUTPUTS = {"status": "http.status_code", "json": "http.json", "body": "http.body"}


async def test_get_with_templated_url_headers_and_params(server: str) -> None:
    node = http_node(
        "{{ start.base }}/items", headers={"authorization": "Bearer {{ start.token }}"}, params={"q": "a b"}
    )
    result = await run_single(
        node, OUTPUTS, {"base": server, "token": "t0k"}, Ports(http=GuardedHttpClient(allow=["127.0.0.1"]))
    )
    assert result.outputs["status"] == 200
    assert result.outputs["json"] == {"path": "/items?q=a+b", "auth": "Bearer t0k"}


async def test_post_json_body(server: str) -> None:
    node = http_node(f"{server}/things", method="POST", body_type="json", body='{"name": "{{ start.name }}"}')
    result = await run_single(
        node, OUTPUTS, {"name": "Ada"}, Ports(http=GuardedHttpClient(allow=["127.0.0.0/8"]))
    )
    assert result.outputs["status"] == 201
    assert result.outputs["json"] == {"received": '{"name": "Ada"}', "type": "application/json"}


async def test_loopback_is_refused_when_not_allow_listed(server: str) -> None:
    result = await run_single(http_node(f"{server}/x"), OUTPUTS, ports=Ports(http=GuardedHttpClient()))
    error = failure(result, "http")
    assert error["type"] == "BlockedURLError" and "loopback" in error["message"]


async def test_a_redirect_to_the_metadata_address_is_refused(server: str) -> None:
    result = await run_single(
        http_node(f"{server}/redirect-to-metadata"),
        OUTPUTS,
        ports=Ports(http=GuardedHttpClient(allow=["127.0.0.1"])),
    )
    error = failure(result, "http")
    assert error["type"] == "BlockedURLError" and "169.254.169.254" in error["message"]


async def test_response_size_is_capped(server: str) -> None:
    client = GuardedHttpClient(allow=["127.0.0.1"])
    with pytest.raises(Exception, match="larger than 100 bytes"):
        await client.request(HttpRequest("GET", f"{server}/big", max_response_bytes=100))


async def test_invalid_json_body_fails_the_node(server: str) -> None:
    node = http_node(f"{server}/x", method="POST", body_type="json", body="{not json")
    result = await run_single(node, OUTPUTS, ports=Ports(http=GuardedHttpClient(allow=["127.0.0.1"])))
    assert "not valid JSON" in failure(result, "http")["message"]
