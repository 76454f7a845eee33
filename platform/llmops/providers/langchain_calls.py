"""Single model calls on one resolved endpoint (no retries, no fallback): chat, stream, embed.

The gateway (``llmops.providers.gateway``) wraps these in limits, retries and fallbacks. Each function
returns what it produced plus the measurements the usage row needs.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import openai
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage

from llmops.core.errors import ValidationError
from llmops.providers.errors import MalformedResponse
from llmops.providers.kinds import langchain_family
from llmops.providers.langchain_clients import (
    chat_model,
    embeddings_model,
    to_langchain,
    tool_calls_of,
    tool_schemas,
)
from llmops.providers.selectors import ResolvedEndpoint
from llmops.providers.tokens import count_text
from workflows import ChatChunk, ChatRequest, ChatResult, Usage

# Sent as keyword arguments of the OpenAI chat API; anything else goes in ``extra_body`` (e.g. llama.cpp's
# ``top_k``), so an unknown parameter reaches the server instead of breaking the client.
_OPENAI_PARAMETERS = frozenset(
    {
        "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed", "presence_penalty",
        "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "user", "reasoning_effort",
        "parallel_tool_calls", "n", "service_tier",
    }
)  # fmt: skip
_ANTHROPIC_PARAMETERS = frozenset({"temperature", "top_p", "top_k", "max_tokens", "stop"})


@dataclass(frozen=True, slots=True)
class Measured:
    """Timings of one call, in milliseconds."""

    latency_ms: int
    ttft_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ConnectionTest:
    """The outcome of a connection test."""

    ok: bool
    latency_ms: int
    model: str
    error_type: str = ""
    error: str = ""


def elapsed_ms(since: float) -> int:
    """Milliseconds since ``since`` (a ``time.perf_counter()`` value)."""
    return max(0, round((time.perf_counter() - since) * 1000))


def parameters_for(endpoint: ResolvedEndpoint, request: ChatRequest) -> dict[str, Any]:
    """The endpoint's default parameters overlaid with the request's, shaped for the LangChain family."""
    merged = {**endpoint.config.default_parameters, **request.parameters}
    if langchain_family(endpoint.config.provider_kind) == "anthropic":
        unknown = sorted(set(merged) - _ANTHROPIC_PARAMETERS)
        if unknown:
            raise ValidationError(
                f"Anthropic endpoints do not take {', '.join(unknown)}.",
                fields={f"parameters.{name}": ["Not supported by this provider."] for name in unknown},
            )
        return merged  # response_format has no Anthropic equivalent: it is ignored there
    known = {key: value for key, value in merged.items() if key in _OPENAI_PARAMETERS}
    extra = {key: value for key, value in merged.items() if key not in _OPENAI_PARAMETERS}
    if extra:
        known["extra_body"] = extra
    if request.response_format:
        known["response_format"] = dict(request.response_format)
    return known


def reserved_output(endpoint: ResolvedEndpoint, request: ChatRequest) -> int:
    """Output tokens the request asks room for (explicit ``max_tokens``), for the context-window check."""
    merged = {**endpoint.config.default_parameters, **request.parameters}
    value = merged.get("max_tokens") or merged.get("max_completion_tokens") or 0
    return int(value) if isinstance(value, int | float) else 0


def _runnable(endpoint: ResolvedEndpoint, request: ChatRequest) -> Any:
    model = chat_model(endpoint)
    return model.bind_tools(tool_schemas(request.tools)) if request.tools else model


def usage_of(message: BaseMessage | None) -> Usage:
    """Token usage reported by the provider on a LangChain reply (zero when it reported none)."""
    metadata = getattr(message, "usage_metadata", None) or {}
    details = metadata.get("input_token_details") or {}
    return Usage(
        prompt_tokens=int(metadata.get("input_tokens") or 0),
        completion_tokens=int(metadata.get("output_tokens") or 0),
        cached_tokens=int(details.get("cache_read") or 0),
    )


def _finish_reason(message: BaseMessage) -> str:
    metadata = message.response_metadata or {}
    return str(metadata.get("finish_reason") or metadata.get("stop_reason") or "stop")


async def chat_once(endpoint: ResolvedEndpoint, request: ChatRequest) -> tuple[ChatResult, Measured]:
    """One non-streaming completion."""
    runnable = _runnable(endpoint, request)
    parameters = parameters_for(endpoint, request)
    started = time.perf_counter()
    try:
        message = await runnable.ainvoke(to_langchain(request.messages), **parameters)
    except openai.LengthFinishReasonError as exc:  # structured output cut at max_tokens: the caller judges it
        return _truncated(endpoint, exc.completion), Measured(latency_ms=elapsed_ms(started))
    measured = Measured(latency_ms=elapsed_ms(started))
    if not isinstance(message, AIMessage):
        raise MalformedResponse(f"the provider returned {type(message).__name__}, not a reply")
    result = ChatResult(
        text=message.text,
        usage=usage_of(message),
        model=str((message.response_metadata or {}).get("model_name") or endpoint.config.model),
        tool_calls=tool_calls_of(message),
        finish_reason=_finish_reason(message),
    )
    return result, measured


def _truncated(endpoint: ResolvedEndpoint, completion: Any) -> ChatResult:
    """The reply of a structured-output call the SDK refused because it hit ``max_tokens``: the partial text
    with ``finish_reason`` ``length`` (a parameter extractor then reports why it could not parse it)."""
    choice = completion.choices[0] if completion.choices else None
    usage = completion.usage
    return ChatResult(
        text=str(getattr(choice.message, "content", "") or "") if choice else "",
        usage=Usage(
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        ),
        model=str(completion.model or endpoint.config.model),
        finish_reason="length",
    )


@dataclass(slots=True)
class StreamState:
    """What a stream has produced so far (read by the gateway when the stream ends or fails)."""

    started: float = 0.0
    ttft_ms: int | None = None
    latency_ms: int = 0
    usage: Usage | None = None
    yielded: bool = False


async def stream_once(
    endpoint: ResolvedEndpoint, request: ChatRequest, state: StreamState
) -> AsyncIterator[ChatChunk]:
    """One streamed completion: text deltas, then a final chunk with usage and tool calls."""
    runnable = _runnable(endpoint, request)
    parameters = parameters_for(endpoint, request)
    state.started = time.perf_counter()
    usage_chunk: AIMessageChunk | None = None
    gathered: AIMessageChunk | None = None
    async for chunk in runnable.astream(to_langchain(request.messages), **parameters):
        if not isinstance(chunk, AIMessageChunk):
            raise MalformedResponse(f"the provider streamed {type(chunk).__name__}, not message chunks")
        if chunk.usage_metadata:
            usage_chunk = chunk
        if chunk.tool_call_chunks:
            # Adding chunks is not free, so only tool-call chunks are merged (text is passed straight on).
            gathered = chunk if gathered is None else gathered + chunk
        text = chunk.text
        if text or chunk.tool_call_chunks:
            if state.ttft_ms is None:
                state.ttft_ms = elapsed_ms(state.started)
            if text:
                state.yielded = True
                yield ChatChunk(text=text)
    state.latency_ms = elapsed_ms(state.started)
    state.usage = usage_of(usage_chunk)
    calls = tool_calls_of(AIMessage(content="", tool_calls=gathered.tool_calls)) if gathered else ()
    state.yielded = True
    yield ChatChunk(usage=state.usage, model=endpoint.config.model, tool_calls=calls)


async def embed_once(
    endpoint: ResolvedEndpoint, texts: Sequence[str]
) -> tuple[list[list[float]], Usage, Measured]:
    """Embed one batch.

    LangChain's ``Embeddings`` interface drops the provider's usage, so this calls the OpenAI client that
    ``OpenAIEmbeddings`` configured (same base URL, key, timeout and transport) and reads usage from it;
    a server that reports none gets an offline estimate.
    """
    model = embeddings_model(endpoint)
    started = time.perf_counter()
    response = await model.async_client.create(
        input=list(texts), model=endpoint.config.model, encoding_format="float"
    )
    measured = Measured(latency_ms=elapsed_ms(started))
    try:
        rows = sorted(response.data, key=lambda row: row.index)
        vectors = [list(map(float, row.embedding)) for row in rows]
    except (AttributeError, TypeError, ValueError) as exc:
        raise MalformedResponse(f"the provider's embeddings response is malformed ({exc})") from None
    if len(vectors) != len(texts):
        raise MalformedResponse(f"the provider returned {len(vectors)} vectors for {len(texts)} texts")
    prompt_tokens = getattr(getattr(response, "usage", None), "prompt_tokens", None)
    if not prompt_tokens:
        prompt_tokens = sum(count_text(text, model=endpoint.config.model) for text in texts)
    return vectors, Usage(prompt_tokens=int(prompt_tokens)), measured
