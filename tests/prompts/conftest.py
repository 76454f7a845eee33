"""Fixtures of the prompts tests: the real local chat model, the scripted OpenAI server, endpoints on them."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def local_chat_url(local_chat_model_url: str) -> str:
    """Base URL (``.../v1``) of the session's llama-server with Gemma 3 270M (see the root conftest)."""
    return local_chat_model_url
