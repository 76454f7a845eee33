"""``make run`` registers the local models where ``devservices.localmodels`` serves them."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from devservices.localmodels import chat_server_url, embedding_server_url

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "ports", [{}, {"LLMOPS_CHAT_MODEL_PORT": "18091", "LLMOPS_EMBEDDING_MODEL_PORT": "18092"}]
)
def test_the_demo_endpoints_point_at_the_local_model_servers(
    ports: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the ports make run serves the models on (defaults, or chosen through the environment)
    for name in ("LLMOPS_CHAT_MODEL_PORT", "LLMOPS_EMBEDDING_MODEL_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in ports.items():
        monkeypatch.setenv(name, value)
    output = io.StringIO()
    # when
    call_command("bootstrap_demo", stdout=output)
    # then
    assert f"model endpoint registered: local-qwen -> {chat_server_url()}" in output.getvalue()
    assert f"model endpoint registered: local-multilingual -> {embedding_server_url()}" in output.getvalue()
    assert f"model endpoint registered: local-minilm -> {embedding_server_url()}" in output.getvalue()
    assert f"model endpoint registered: local-rerank -> {embedding_server_url()}" in output.getvalue()
