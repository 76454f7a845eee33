"""Request sizes: bodies over their route's limit are refused (413) before routing and authentication, JSON
bodies of the console API within Django's limit, and listings' ``?limit=`` capped."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.test import Client
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate

from llmops.accounts.models import User, Workspace
from llmops.deployments.api.console import ApiKeyViewSet
from tests.conftest import client_for
from tests.deployments.factories import api_key

ONE_MIB = 1024 * 1024


def _raw_request(address: str, head: str, body: bytes = b"") -> bytes:
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(head.encode() + body)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and b"too_large" in answer:
                break
    return answer


def test_a_declared_oversized_body_is_refused_before_any_of_it_is_sent(asgi_server: str) -> None:
    # given a request announcing 50 MiB to the public API, with a key that does not exist
    head = (
        "POST /v1/workflows/greet/run HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer llm-AAAAAAAA-{'x' * 40}\r\nContent-Length: {50 * ONE_MIB}\r\n\r\n"
    )
    # when only the headers are sent
    answer = _raw_request(asgi_server, head)
    # then the server answers 413 at once: it neither waited for the body nor looked at the key (401)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "too_large"


def test_a_chunked_body_is_cut_off_at_the_limit(asgi_server: str) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(64):  # 64 MiB if nobody stops it
            sent += ONE_MIB
            yield b" " * ONE_MIB

    try:
        response = httpx.post(
            f"http://{asgi_server}/v1/workflows/greet/run",
            content=chunks(),
            headers={"Authorization": "Bearer nope", "Content-Type": "application/json"},
            timeout=30,
        )
    except httpx.WriteError:  # the server closed the connection after answering, while we still wrote
        pytest.fail("the server hung up without an answer")
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "too_large"
    assert sent < 16 * ONE_MIB


@pytest.mark.django_db
def test_an_oversized_public_call_is_refused_before_the_key_is_checked_in_process(settings: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-key")
    body = {"inputs": {"text": "x" * (settings.LLMOPS_API_MAX_BODY_BYTES + 1)}}
    response = client.post("/v1/workflows/greet/run", body, format="json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_a_console_json_body_over_the_upload_limit_is_refused(
    workspace: Workspace, owner: User, settings: Any
) -> None:
    # given a JSON body over DATA_UPLOAD_MAX_MEMORY_SIZE sent straight to a console view (no middleware)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    request = APIRequestFactory().post(
        "/api/workspaces/acme/api-keys/", {"name": "k" * 10_000, "scopes": ["run"]}, format="json"
    )
    force_authenticate(request, user=owner)
    # when the view parses it
    response = ApiKeyViewSet.as_view({"post": "create"})(request, workspace="acme")
    # then it is 413, not parsed and not validated
    assert response.status_code == 413, response.data
    assert response.data["error"]["code"] == "too_large"


def test_a_console_call_over_the_limit_is_refused_before_authentication(
    client: Client, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    response = client.post(
        "/api/workspaces/acme/api-keys/", {"name": "k" * 10_000}, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


@pytest.mark.django_db
def test_a_huge_limit_is_capped(workspace: Workspace, owner: User, settings: Any) -> None:
    for _ in range(3):
        api_key(workspace)
    settings.LLMOPS_API_MAX_PAGE_SIZE = 2
    body = client_for(owner).get("/api/workspaces/acme/api-keys/?limit=100000").json()
    assert (body["count"], len(body["results"])) == (3, 2)
    assert "limit=2" in body["next"]
