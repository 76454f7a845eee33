"""The scripted OpenAI-protocol test server stages what a paid provider does, seen through real clients."""

from __future__ import annotations

import json
import time
from typing import Any

import openai
import pytest
from langchain_openai import ChatOpenAI
from openai.types.chat import ChatCompletionMessageParam

from tests.support.openai_test_server import (
    OpenAITestServer,
    delay,
    disconnect,
    embeddings,
    malformed_stream,
    ok,
    ok_stream,
    status,
)

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello to the test server"}]


def _client(server: OpenAITestServer, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key="sk-test", **kwargs)


def test_ok_answers_with_the_scripted_text_and_usage(openai_test_server: OpenAITestServer) -> None:
    openai_test_server.script(ok("Hello!", usage=(11, 2)))

    reply = _client(openai_test_server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert reply.choices[0].message.content == "Hello!"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.total_tokens) == (11, 2, 13)
    assert reply.model == "gpt-4o-mini"


def test_requests_are_recorded_with_headers_and_body(openai_test_server: OpenAITestServer) -> None:
    _client(openai_test_server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=5)

    (request,) = openai_test_server.requests
    assert request.method == "POST" and request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.json["messages"] == MESSAGES and request.json["max_tokens"] == 5
    assert json.loads(request.body) == request.json


def test_429_with_retry_after_is_retried_and_then_succeeds(openai_test_server: OpenAITestServer) -> None:
    openai_test_server.script(status(429, retry_after=0.2), status(429, retry_after=0.2), ok("finally"))

    started = time.monotonic()
    reply = _client(openai_test_server, max_retries=2).chat.completions.create(model="m", messages=MESSAGES)

    assert reply.choices[0].message.content == "finally"
    requests = openai_test_server.requests
    assert len(requests) == 3
    assert [r.headers.get("x-stainless-retry-count") for r in requests] == ["0", "1", "2"]
    assert requests[1].received_at - requests[0].received_at >= 0.2  # the client honoured retry-after
    assert time.monotonic() - started < 5


def test_persistent_500_exhausts_the_retries(openai_test_server: OpenAITestServer) -> None:
    openai_test_server.script(*[status(500)] * 3)

    with pytest.raises(openai.InternalServerError) as raised:
        _client(openai_test_server, max_retries=1).chat.completions.create(model="m", messages=MESSAGES)

    assert raised.value.status_code == 500
    assert len(openai_test_server.requests) == 2
    assert openai_test_server.pending == 1


def test_error_bodies_have_openai_shape(openai_test_server: OpenAITestServer) -> None:
    openai_test_server.script(status(429, message="Rate limit reached for requests"))

    with pytest.raises(openai.RateLimitError) as raised:
        _client(openai_test_server, max_retries=0).chat.completions.create(model="m", messages=MESSAGES)

    assert raised.value.body == {
        "message": "Rate limit reached for requests",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }


def test_delay_longer_than_the_client_timeout_times_out(openai_test_server: OpenAITestServer) -> None:
    openai_test_server.script(delay(5), delay(5))

    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        _client(openai_test_server, max_retries=1, timeout=0.3).chat.completions.create(
            model="m", messages=MESSAGES
        )

    assert len(openai_test_server.requests) == 2
    assert time.monotonic() - started < 3


def test_delay_shorter_than_the_timeout_then_answers(openai_test_server: OpenAITestServer) -> None:
    openai_test_server.script(delay(0.2, then=ok("late")))

    reply = _client(openai_test_server, timeout=5).chat.completions.create(model="m", messages=MESSAGES)

    assert reply.choices[0].message.content == "late"


def test_stream_delivers_chunks_after_the_ttft_delay_with_usage_last(
    openai_test_server: OpenAITestServer,
) -> None:
    openai_test_server.script(
        ok_stream(["Hel", "lo", " there"], ttft_delay=0.3, chunk_delay=0.05, usage=(7, 3))
    )

    started = time.monotonic()
    stream = _client(openai_test_server).chat.completions.create(
        model="m",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces: list[tuple[float, str]] = []
    usage = None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append((time.monotonic() - started, chunk.choices[0].delta.content))
        if chunk.usage:
            usage = chunk.usage

    assert [text for _, text in pieces] == ["Hel", "lo", " there"]
    assert pieces[0][0] >= 0.3  # time to first token as scripted
    assert pieces[-1][0] - pieces[0][0] >= 0.05  # scripted gaps: 2 x 0.05 s (busy cores may merge reads)
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (7, 3)


def test_stream_without_include_usage_has_no_usage_chunk(openai_test_server: OpenAITestServer) -> None:
    openai_test_server.script(ok("streamed"))

    chunks = list(
        _client(openai_test_server).chat.completions.create(model="m", messages=MESSAGES, stream=True)
    )

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "streamed"
    assert all(c.usage is None for c in chunks)


def test_malformed_stream_event_raises_in_the_client(openai_test_server: OpenAITestServer) -> None:
    openai_test_server.script(malformed_stream("bad_json"))

    stream = _client(openai_test_server).chat.completions.create(model="m", messages=MESSAGES, stream=True)
    with pytest.raises(json.JSONDecodeError):
        list(stream)


def test_truncated_stream_raises_a_connection_error(openai_test_server: OpenAITestServer) -> None:
    openai_test_server.script(malformed_stream("truncated"))

    stream = _client(openai_test_server, max_retries=0).chat.completions.create(
        model="m", messages=MESSAGES, stream=True
    )
    with pytest.raises(openai.APIConnectionError):
        list(stream)


def test_stream_ending_without_done_leaves_no_finish_reason(openai_test_server: OpenAITestServer) -> None:
    openai_test_server.script(malformed_stream("no_done", text_before="cut here"))

    chunks = list(
        _client(openai_test_server).chat.completions.create(model="m", messages=MESSAGES, stream=True)
    )

    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "cut here"
    assert all(c.choices[0].finish_reason is None for c in chunks)


def test_disconnect_is_a_connection_error_that_the_client_retries(
    openai_test_server: OpenAITestServer,
) -> None:
    openai_test_server.script(disconnect(), ok("after reconnect"))

    reply = _client(openai_test_server, max_retries=1).chat.completions.create(model="m", messages=MESSAGES)

    assert reply.choices[0].message.content == "after reconnect"
    assert len(openai_test_server.requests) == 2


def test_embeddings_are_deterministic_or_scripted(openai_test_server: OpenAITestServer) -> None:
    client = _client(openai_test_server)
    first = client.embeddings.create(
        model="text-embedding-3-small", input=["a", "b"], encoding_format="float"
    )
    again = client.embeddings.create(model="text-embedding-3-small", input=["a"], encoding_format="float")
    openai_test_server.script(embeddings([[1.0, 0.0], [0.0, 1.0]]))
    scripted = client.embeddings.create(
        model="text-embedding-3-small", input=["x", "y"], encoding_format="float"
    )

    assert first.data[0].embedding == again.data[0].embedding != first.data[1].embedding
    assert [item.embedding for item in scripted.data] == [[1.0, 0.0], [0.0, 1.0]]
    assert first.usage.prompt_tokens == 2


def test_langchain_chat_openai_sees_usage_and_retries(openai_test_server: OpenAITestServer) -> None:
    openai_test_server.script(
        status(500), ok("from langchain", usage=(4, 2)), ok_stream(["a", "b"], usage=(4, 2))
    )
    llm = ChatOpenAI(base_url=openai_test_server.url, api_key="sk-test", model="gpt-4o-mini", max_retries=1)

    reply = llm.invoke("hi")
    streamed = list(
        ChatOpenAI(
            base_url=openai_test_server.url, api_key="sk-test", model="gpt-4o-mini", stream_usage=True
        ).stream("hi")
    )

    assert reply.content == "from langchain"
    assert reply.usage_metadata is not None and reply.usage_metadata["total_tokens"] == 6
    assert "".join(str(c.content) for c in streamed) == "ab"
    assert [c.usage_metadata["output_tokens"] for c in streamed if c.usage_metadata] == [2]
    assert len(openai_test_server.requests) == 3
    assert openai_test_server.requests[2].include_usage


def test_unknown_route_is_404(openai_test_server: OpenAITestServer) -> None:
    with pytest.raises(openai.NotFoundError):
        _client(openai_test_server, max_retries=0).completions.create(model="m", prompt="legacy")
