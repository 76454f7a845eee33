"""A local fake of a small HTTP API with its own OpenAPI document, on loopback, recording every request."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


def pets_document(server_url: str) -> dict[str, Any]:
    """An OpenAPI 3 document of the fake: read a pet, add a pet."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "Pets", "version": "1"},
        "servers": [{"url": server_url}],
        "paths": {
            "/pets/{pet_id}": {
                "get": {
                    "operationId": "getPet",
                    "summary": "Read one pet by its id.",
                    "parameters": [
                        {"name": "pet_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                        {"name": "verbose", "in": "query", "schema": {"type": "boolean"}},
                    ],
                }
            },
            "/pets": {
                "post": {
                    "operationId": "addPet",
                    "summary": "Add a pet.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}},
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Pet": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}},
                    "required": ["name"],
                }
            }
        },
    }


@dataclass
class FakeApi:
    """Serves ``/openapi.json`` (servers: itself), ``/openapi.yaml``, ``/big.json``, ``/pets/<id>``, ``/pets``."""

    seen: list[Seen] = field(default_factory=list)
    extra: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                api.seen.append(Seen(self.command, parts.path, parse_qs(parts.query),
                                     {k.lower(): v for k, v in self.headers.items()}, body))  # fmt: skip
                status, kind, content = api.route(self.command, parts.path, body)
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def route(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        if path in self.extra:
            return self.extra[path]
        if path == "/openapi.json":
            return 200, "application/json", json.dumps(pets_document(self.url)).encode()
        if path == "/openapi.yaml":
            import yaml

            return 200, "application/yaml", yaml.safe_dump(pets_document(self.url)).encode()
        if path == "/big.json":
            return 200, "application/json", b'{"openapi": "3.0.0", "x": "' + b"a" * (3 * 1024 * 1024) + b'"}'
        if method == "GET" and path.startswith("/pets/"):
            return (
                200,
                "application/json",
                json.dumps({"id": int(path.rsplit("/", 1)[1]), "name": "Rex"}).encode(),
            )
        if method == "POST" and path == "/pets":
            return 201, "application/json", json.dumps({"created": json.loads(body)}).encode()
        return 404, "text/plain", b"not found"

    def calls(self, path_prefix: str) -> list[Seen]:
        """The requests whose path starts with ``path_prefix``."""
        return [s for s in self.seen if s.path.startswith(path_prefix)]

    def __enter__(self) -> FakeApi:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
