"""Fixtures of the providers tests: names for the root conftest's servers (real local models, scripted ones)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def chat_server_url(local_chat_model_url: str) -> str:
    """Base URL (``.../v1``) of the llama-server running Gemma 3 270M (model ``gemma3-270m``)."""
    return local_chat_model_url


@pytest.fixture(scope="session")
def embedding_server_url(local_embedding_model_url: str) -> str:
    """Base URL (``.../v1``) of the MiniLM embeddings server (model ``all-minilm-l6-v2``, 384 dims)."""
    return local_embedding_model_url


@pytest.fixture
def provider(openai_test_server: Any) -> Any:
    """The scripted OpenAI-protocol server an endpoint under test calls."""
    return openai_test_server


@pytest.fixture
def backup(backup_openai_test_server: Any) -> Any:
    """The scripted server of that endpoint's fallback."""
    return backup_openai_test_server
