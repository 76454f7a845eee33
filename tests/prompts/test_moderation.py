"""Moderation rules: keywords (word or substring, any case) and an OpenAI-protocol moderation endpoint."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from llmops.accounts.models import Workspace
from llmops.core.errors import ValidationError
from llmops.prompts.gateway import endpoint_moderator
from llmops.prompts.moderation import ModerationStage, keyword_verdict, moderate
from tests.providers.factories import ModelEndpointFactory, endpoint_config


class ModerationServer(ThreadingHTTPServer):
    """A real HTTP peer speaking OpenAI's ``POST /v1/moderations``: texts containing "kill" are violent."""

    requests: list[dict[str, Any]]


class _Handler(BaseHTTPRequestHandler):
    server: ModerationServer

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        violent = "kill" in str(body["input"]).lower()
        result = {"flagged": violent, "categories": {"violence": violent, "hate": False}}
        payload = json.dumps({"id": "modr-1", "model": body["model"], "results": [result]}).encode()
        self.send_response(200 if self.path == "/v1/moderations" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def moderation_server() -> Iterator[ModerationServer]:
    server = ModerationServer(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def moderation_endpoint(workspace: Workspace, server: ModerationServer, slug: str = "mod") -> Any:
    """A ``moderation`` model endpoint of ``workspace`` pointing at ``server``."""
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    config = endpoint_config(model="omni-moderation", model_type="moderation", base_url=url)
    return ModelEndpointFactory(
        workspace=workspace, slug=slug, draft=config, credentials={"api_key": "sk-mod"}
    )


@pytest.mark.parametrize(
    ("match", "text", "rule"),
    [
        ("word", "my PASSWORD is", "keyword:password"),
        ("word", "passwords are fine", None),
        ("substring", "passwords are not", "keyword:password"),
        ("word", "say pass-word", None),
    ],
)
def test_keywords_match_case_insensitively_by_word_or_substring(
    match: str, text: str, rule: str | None
) -> None:
    stage = ModerationStage(keywords=["password"], match=match)  # type: ignore[arg-type]
    verdict = keyword_verdict("input", stage, text)
    assert (verdict.rule if verdict else None) == rule


def test_a_verdict_names_stage_rule_and_message() -> None:
    stage = ModerationStage(keywords=["secret"], message="Nope.")
    verdict = keyword_verdict("output", stage, "the Secret sauce")
    assert verdict is not None
    assert verdict.to_dict() == {
        "blocked": True,
        "stage": "output",
        "rule": "keyword:secret",
        "message": "Nope.",
    }


@pytest.mark.django_db(transaction=True)
async def test_moderation_endpoint_flags_by_category(
    workspace: Workspace, moderation_server: ModerationServer
) -> None:
    await sync_to_async(moderation_endpoint)(workspace, moderation_server)
    stage = ModerationStage(endpoint="mod")
    ask = endpoint_moderator(workspace)
    try:
        clean = await moderate("input", stage, "hello there", ask)
        flagged = await moderate("input", stage, "I will KILL the process", ask)
    finally:
        await sync_to_async(connections.close_all)()
    assert clean is None
    assert flagged is not None and flagged.rule == "endpoint:mod:violence"
    assert moderation_server.requests[-1] == {
        "path": "/v1/moderations",
        "auth": "Bearer sk-mod",
        "model": "omni-moderation",
        "input": "I will KILL the process",
    }


@pytest.mark.django_db(transaction=True)
async def test_a_chat_endpoint_is_not_a_moderation_endpoint(workspace: Workspace) -> None:
    await sync_to_async(ModelEndpointFactory)(workspace=workspace, slug="chat")
    try:
        with pytest.raises(ValidationError, match="not a moderation endpoint"):
            await endpoint_moderator(workspace)("chat", "hello")
    finally:
        await sync_to_async(connections.close_all)()
