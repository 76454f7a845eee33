"""Building LangChain chat and embedding models from a resolved endpoint, once, and converting messages.

Models are cached per event loop (an httpx connection pool belongs to the loop it was opened in) and per
:attr:`ResolvedEndpoint.cache_key` (endpoint, content hash, credentials hash), so building a client is paid
once per endpoint version rather than on every call. Every client is built with ``max_retries=0``: the
gateway runs the retry loop itself to honour Retry-After and to meter each attempt, and over the SSRF-guarded
HTTP clients of ``llmops.core.outbound`` (every kind: OpenAI-protocol ones get a guarded ``httpx`` client,
Anthropic's SDK a guarded ``httpx2`` one).
"""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from llmops.core.outbound import guarded_async_client, guarded_sync_client
from llmops.providers.kinds import KEYLESS_KINDS, langchain_family
from llmops.providers.selectors import ResolvedEndpoint
from workflows import ChatMessage, ToolCall, ToolSpec

_CACHE_SIZE = 256
_cache: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, OrderedDict[tuple[Any, ...], Any]] = (
    weakref.WeakKeyDictionary()
)


def _cached(kind: str, endpoint: ResolvedEndpoint, build: Callable[[ResolvedEndpoint], Any]) -> Any:
    per_loop = _cache.setdefault(asyncio.get_running_loop(), OrderedDict())
    key = (kind, *endpoint.cache_key)
    model = per_loop.get(key)
    if model is None:
        model = per_loop[key] = build(endpoint)
        while len(per_loop) > _CACHE_SIZE:
            per_loop.popitem(last=False)
    else:
        per_loop.move_to_end(key)
    return model


def _api_key(endpoint: ResolvedEndpoint) -> str:
    key = str(endpoint.credentials.get("api_key") or "")
    if not key and endpoint.config.provider_kind in KEYLESS_KINDS:
        return "not-needed"  # the OpenAI client insists on a key; local servers ignore it
    return key


def _openai_common(endpoint: ResolvedEndpoint) -> dict[str, Any]:
    config = endpoint.config
    common: dict[str, Any] = {
        "api_key": _api_key(endpoint),
        "max_retries": 0,
        "timeout": config.timeout_seconds,
        "http_async_client": guarded_async_client(timeout=config.timeout_seconds),
        "http_client": guarded_sync_client(timeout=config.timeout_seconds),
        "default_headers": dict(endpoint.credentials.get("headers") or {}) or None,
    }
    if endpoint.credentials.get("organization"):
        common["organization"] = endpoint.credentials["organization"]
    return common


def _build_chat(endpoint: ResolvedEndpoint) -> BaseChatModel:
    config = endpoint.config
    family = langchain_family(config.provider_kind)
    if family == "anthropic":
        from llmops.providers.anthropic_client import GuardedChatAnthropic

        return GuardedChatAnthropic(
            model=config.model,
            api_key=_api_key(endpoint),
            base_url=config.effective_base_url,
            max_retries=0,
            timeout=config.timeout_seconds,
            stream_usage=True,
            default_headers=dict(endpoint.credentials.get("headers") or {}) or None,
        )
    if family == "azure":
        from langchain_openai import AzureChatOpenAI

        return AzureChatOpenAI(
            azure_endpoint=config.effective_base_url,
            azure_deployment=config.model,
            api_version=config.api_version,
            stream_usage=True,
            **_openai_common(endpoint),
        )
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=config.model, base_url=config.effective_base_url, stream_usage=True, **_openai_common(endpoint)
    )


def _build_embeddings(endpoint: ResolvedEndpoint) -> Any:
    config = endpoint.config
    # check_embedding_ctx_length=False: otherwise LangChain tokenizes with tiktoken, which downloads.
    if langchain_family(config.provider_kind) == "azure":
        from langchain_openai import AzureOpenAIEmbeddings

        return AzureOpenAIEmbeddings(  # type: ignore[call-arg]
            azure_endpoint=config.effective_base_url,
            azure_deployment=config.model,
            api_version=config.api_version,
            check_embedding_ctx_length=False,
            chunk_size=config.embedding_batch_size,
            **_openai_common(endpoint),
        )
    from langchain_openai import OpenAIEmbeddings

    return OpenAIEmbeddings(  # type: ignore[call-arg]
        model=config.model,
        base_url=config.effective_base_url,
        check_embedding_ctx_length=False,
        chunk_size=config.embedding_batch_size,
        **_openai_common(endpoint),
    )


def chat_model(endpoint: ResolvedEndpoint) -> BaseChatModel:
    """The endpoint's LangChain chat model (built once per version and loop)."""
    model: BaseChatModel = _cached("chat", endpoint, _build_chat)
    return model


def embeddings_model(endpoint: ResolvedEndpoint) -> Any:
    """The endpoint's LangChain embeddings model (OpenAI protocol; Anthropic has no embeddings)."""
    return _cached("embed", endpoint, _build_embeddings)


def to_langchain(messages: Sequence[ChatMessage]) -> list[BaseMessage]:
    """Engine messages as LangChain messages."""
    converted: list[BaseMessage] = []
    for message in messages:
        if message.role == "system":
            converted.append(SystemMessage(content=message.content))
        elif message.role == "user":
            converted.append(HumanMessage(content=message.content, name=message.name))
        elif message.role == "assistant":
            calls = [{"id": c.id, "name": c.name, "args": c.arguments} for c in message.tool_calls]
            converted.append(AIMessage(content=message.content, tool_calls=calls))
        else:
            converted.append(ToolMessage(content=message.content, tool_call_id=message.tool_call_id or ""))
    return converted


def tool_schemas(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    """Tools in the OpenAI function format (LangChain converts it for Anthropic too)."""
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    ]


def tool_calls_of(message: AIMessage) -> tuple[ToolCall, ...]:
    """The tool calls of a LangChain reply as engine values."""
    return tuple(
        ToolCall(id=str(call.get("id") or ""), name=call["name"], arguments=dict(call.get("args") or {}))
        for call in message.tool_calls
    )
