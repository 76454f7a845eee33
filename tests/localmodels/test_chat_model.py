"""The real chat model: llama-server with Gemma 3 270M, reached through LangChain's ChatOpenAI."""

from __future__ import annotations

import httpx
from langchain_openai import ChatOpenAI

from devservices.localmodels import CHAT_MODEL

# Tokens that would mean llama-server applied the wrong chat template (ChatML) or leaked Gemma's own.
TEMPLATE_LEAKS = ("<|im_end|>", "<|im_start|>", "<end_of_turn>", "<start_of_turn>")


def _chat(url: str, **kwargs: object) -> ChatOpenAI:
    settings: dict[str, object] = {"temperature": 0, "max_tokens": 16, **kwargs}
    return ChatOpenAI(base_url=url, api_key="local", model=CHAT_MODEL, **settings)


def test_chat_model_answers_with_usage_metadata(local_chat_model_url: str) -> None:
    reply = _chat(local_chat_model_url).invoke("Name three colours.")

    assert isinstance(reply.content, str) and reply.content.strip()
    assert not any(token in reply.content for token in TEMPLATE_LEAKS)
    usage = reply.usage_metadata
    assert usage is not None
    assert usage["input_tokens"] > 0
    assert 0 < usage["output_tokens"] <= 16
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_chat_model_streams_with_usage_when_stream_usage_is_on(local_chat_model_url: str) -> None:
    chunks = list(_chat(local_chat_model_url, stream_usage=True).stream("Name three colours."))

    text_chunks = [chunk for chunk in chunks if chunk.content]
    assert len(text_chunks) > 1  # really streamed, token by token
    usages = [chunk.usage_metadata for chunk in chunks if chunk.usage_metadata]
    assert len(usages) == 1
    assert usages[0]["input_tokens"] > 0 and 0 < usages[0]["output_tokens"] <= 16
    streamed = "".join(str(chunk.content) for chunk in text_chunks)
    # Temperature 0 is deterministic: streaming and non-streaming produce the same text.
    assert streamed == _chat(local_chat_model_url).invoke("Name three colours.").content


def test_chat_model_stops_at_max_tokens(local_chat_model_url: str) -> None:
    reply = _chat(local_chat_model_url, max_tokens=4).invoke("Count from one to one hundred in words.")

    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] <= 4
    assert reply.response_metadata["finish_reason"] in ("length", "stop")


def test_chat_server_lists_its_model_and_reports_health(local_chat_model_url: str) -> None:
    models = httpx.get(f"{local_chat_model_url}/models", timeout=5).json()
    health = httpx.get(local_chat_model_url.removesuffix("/v1") + "/health", timeout=5)

    assert CHAT_MODEL in [model["id"] for model in models["data"]]
    assert health.status_code == 200
