"""LangChain models are built per provider family, once per endpoint version, with retries left to us."""

from __future__ import annotations

from typing import Any

from langchain_anthropic import ChatAnthropic

from llmops.core.models import content_hash
from llmops.providers.gateway import PlatformModelGateway
from llmops.providers.langchain_clients import chat_model, embeddings_model
from llmops.providers.schemas import config_validate
from llmops.providers.selectors import ResolvedEndpoint
from tests.providers.factories import endpoint_config
from workflows import ModelGateway


def _resolved(version: int = 1, api_key: str = "sk-abc", **config: Any) -> ResolvedEndpoint:
    content = endpoint_config(**config)
    return ResolvedEndpoint(
        endpoint_id=7,
        workspace_id=1,
        slug="e",
        version=version,
        config=config_validate(content),
        credentials={"api_key": api_key},
        content_hash=f"{version}-{content_hash(content)}",
    )


def test_the_gateway_implements_the_engines_port() -> None:
    assert isinstance(PlatformModelGateway(workspace=1, source="run"), ModelGateway)


async def test_every_openai_compatible_kind_gets_chat_openai_without_client_retries() -> None:
    model = chat_model(_resolved(provider_kind="deepseek", base_url="", model="deepseek-chat"))
    assert type(model).__name__ == "ChatOpenAI"
    assert (model.max_retries, model.openai_api_base) == (0, "https://api.deepseek.com/v1")  # type: ignore[attr-defined]
    assert model.stream_usage is True  # type: ignore[attr-defined]


async def test_anthropic_and_azure_get_their_own_langchain_classes() -> None:
    claude = chat_model(_resolved(provider_kind="anthropic", base_url="", model="claude-sonnet-4-0"))
    assert isinstance(claude, ChatAnthropic) and claude.max_retries == 0
    azure = chat_model(
        _resolved(
            provider_kind="azure_openai",
            base_url="https://acme.openai.azure.com",
            model="gpt-4o-deployment",
            api_version="2024-10-21",
        )
    )
    assert type(azure).__name__ == "AzureChatOpenAI" and azure.deployment_name == "gpt-4o-deployment"  # type: ignore[attr-defined]


async def test_models_are_built_once_per_version_and_credentials() -> None:
    first = chat_model(_resolved())
    assert chat_model(_resolved()) is first
    assert chat_model(_resolved(version=2)) is not first
    assert chat_model(_resolved(api_key="sk-rotated")) is not first


async def test_embeddings_never_tokenize_with_tiktoken() -> None:
    model = embeddings_model(_resolved(model_type="embedding", model="text-embedding-3-small"))
    assert model.check_embedding_ctx_length is False and model.max_retries == 0
