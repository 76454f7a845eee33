"""Fixtures of the prompts tests: the real local chat model, the scripted OpenAI server, endpoints on them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.openai_test_server import OpenAITestServer


@pytest.fixture(scope="session")
def local_chat_url(local_chat_model_url: str) -> str:
    """Base URL (``.../v1``) of the session's llama-server with Gemma 3 270M (see the root conftest)."""
    return local_chat_model_url


@pytest.fixture
def openai_server() -> Iterator[OpenAITestServer]:
    """A scripted OpenAI-protocol server that records every request."""
    with OpenAITestServer() as server:
        yield server
