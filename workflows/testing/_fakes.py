"""In-memory adapters and fakes for every port (re-exported by ``workflows.testing``).

Nothing here talks to a network or a database; behaviour is deterministic.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Literal

from workflows._events import Event
from workflows._ports import (
    CallContext,
    ChainResult,
    ChatChunk,
    ChatMessage,
    ChatRequest,
    ChatResult,
    EmbeddingResult,
    HttpRequest,
    HttpResponse,
    NodeRecord,
    RenderedPrompt,
    RetrievedChunk,
    RunRecord,
    Usage,
)
from workflows._variables import render

__all__ = [
    "FakeChainRunner",
    "FakeHttpClient",
    "FakeModelGateway",
    "FakePromptResolver",
    "FakeRetriever",
    "InMemoryFileStore",
    "InMemoryRunStore",
    "RecordingEventSink",
    "count_tokens",
]

_WORD = re.compile(r"\S+\s*|\s+")


def count_tokens(text: str) -> int:
    """The fake tokenizer: one token per whitespace-separated word."""
    return len(text.split())


class InMemoryRunStore:
    """A RunStore in a dict. Records are kept as JSON text of ``to_dict`` (as a database would store them),
    so non-JSON outputs surface in tests rather than in production.

    Text rather than decoded dicts: a run checkpointing thousands of iteration items leaves as many strings,
    which the garbage collector never has to walk."""

    def __init__(self) -> None:
        self._nodes: dict[str, dict[str, str]] = {}
        self._runs: dict[str, dict[str, Any]] = {}
        self.checkpoints = 0

    async def checkpoint(self, run_id: str, record: NodeRecord) -> None:
        """Persist a finished node (replacing an earlier record of the same node)."""
        self._nodes.setdefault(run_id, {})[record.node_id] = json.dumps(record.to_dict())
        self.checkpoints += 1

    async def load(self, run_id: str) -> list[NodeRecord]:
        """Every finished node of the run."""
        return [NodeRecord.from_dict(json.loads(text)) for text in self._nodes.get(run_id, {}).values()]

    async def save_run(self, record: RunRecord) -> None:
        """Persist run-level state."""
        self._runs[record.run_id] = json.loads(json.dumps(record.to_dict()))

    async def load_run(self, run_id: str) -> RunRecord | None:
        """Run-level state, or None."""
        data = self._runs.get(run_id)
        return RunRecord.from_dict(data) if data else None

    def forget(self, run_id: str, node_id: str) -> None:
        """Drop one node's checkpoint (simulates a worker dying before it was written)."""
        self._nodes.get(run_id, {}).pop(node_id, None)


class RecordingEventSink:
    """An EventSink that keeps every event (and checks each is JSON-serializable)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def emit(self, event: Event) -> None:
        """Record the event."""
        json.dumps(event.to_dict())
        self.events.append(event)

    def of_type(self, type_name: str) -> list[Event]:
        """The recorded events with the given ``type``."""
        return [e for e in self.events if e.type == type_name]


Reply = str | ChatResult | Exception
Responder = Callable[[ChatRequest], Reply]


class FakeModelGateway:
    """A ModelGateway answering from a script, a function, or by echoing the last user message.

    ``replies`` are consumed in order (an Exception is raised instead of answering); after they run out the
    ``responder`` (default: echo) answers. Every request is kept in ``requests`` for assertions.
    """

    def __init__(
        self,
        replies: Sequence[Reply] = (),
        *,
        responder: Responder | None = None,
        delay_seconds: float = 0.0,
        dimensions: int = 8,
    ) -> None:
        self.replies = list(replies)
        self.responder = responder or _echo
        self.delay_seconds = delay_seconds
        self.dimensions = dimensions
        self.requests: list[ChatRequest] = []

    async def chat(self, request: ChatRequest) -> ChatResult:
        """Answer one request."""
        self.requests.append(request)
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        return self._result(request, self.replies.pop(0) if self.replies else self.responder(request))

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """Answer word by word; the last chunk carries usage and tool calls."""
        result = await self.chat(request)
        for piece in _WORD.findall(result.text):
            await asyncio.sleep(0)
            yield ChatChunk(text=piece, model=result.model)
        yield ChatChunk(usage=result.usage, model=result.model, tool_calls=result.tool_calls)

    async def embed(self, model: str, texts: Sequence[str], context: CallContext) -> EmbeddingResult:
        """Deterministic pseudo-embeddings (a hash of each text)."""
        vectors = [_hash_vector(text, self.dimensions) for text in texts]
        return EmbeddingResult(vectors, Usage(prompt_tokens=sum(count_tokens(t) for t in texts)), model)

    @staticmethod
    def _result(request: ChatRequest, reply: Reply) -> ChatResult:
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, str):
            reply = ChatResult(text=reply)
        prompt = sum(count_tokens(m.content) for m in request.messages)
        usage = reply.usage or Usage(prompt_tokens=prompt, completion_tokens=count_tokens(reply.text))
        return ChatResult(
            reply.text, usage, reply.model or request.model, reply.tool_calls, reply.finish_reason
        )


def _echo(request: ChatRequest) -> str:
    users = [m.content for m in request.messages if m.role == "user"]
    return users[-1] if users else ""


def _hash_vector(text: str, dimensions: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [(digest[i % len(digest)] - 128) / 128 for i in range(dimensions)]


class FakeRetriever:
    """A Retriever over fixed chunks per knowledge base, scored by word overlap with the query."""

    def __init__(self, chunks: Mapping[str, Sequence[RetrievedChunk]]) -> None:
        self.chunks = chunks
        self.calls: list[dict[str, Any]] = []

    async def retrieve(
        self,
        knowledge_base_ids: Sequence[str],
        query: str,
        *,
        top_k: int,
        score_threshold: float | None,
        mode: Literal["vector", "full_text", "hybrid"],
        filters: Mapping[str, Any],
        context: CallContext,
    ) -> list[RetrievedChunk]:
        """The best ``top_k`` chunks above the threshold."""
        self.calls.append({"kb": list(knowledge_base_ids), "query": query, "top_k": top_k, "mode": mode})
        words = set(query.lower().split())
        scored = []
        for kb in knowledge_base_ids:
            for chunk in self.chunks.get(kb, ()):
                overlap = len(words & set(chunk.text.lower().split())) / max(len(words), 1)
                if (score_threshold is None or overlap >= score_threshold) and _matches(chunk, filters):
                    scored.append(
                        RetrievedChunk(
                            chunk.text, overlap, chunk.document_title, chunk.position, chunk.metadata
                        )
                    )
        return sorted(scored, key=lambda c: -c.score)[:top_k]


def _matches(chunk: RetrievedChunk, filters: Mapping[str, Any]) -> bool:
    return all(chunk.metadata.get(key) == value for key, value in filters.items())


class FakePromptResolver:
    """Prompts by name: ``{"greet": "Hello {{ name }}"}`` or a list of (role, template) messages.

    A reference ``name@label`` or ``name:version`` resolves to ``name``; the version shown is ``1``.
    """

    def __init__(self, prompts: Mapping[str, str | Sequence[tuple[str, str]]], model: str | None = None):
        self.prompts = prompts
        self.model = model

    async def render(self, ref: str, variables: Mapping[str, Any], context: CallContext) -> RenderedPrompt:
        """Render the prompt's messages with ``variables``."""
        name = re.split(r"[@:]", ref)[0]
        if name not in self.prompts:
            raise LookupError(f"no prompt {ref!r}")
        prompt = self.prompts[name]
        messages = [("user", prompt)] if isinstance(prompt, str) else list(prompt)
        rendered = tuple(ChatMessage(role, render(text, variables)) for role, text in messages)  # type: ignore[arg-type]
        return RenderedPrompt(rendered, version="1", model=self.model)


class FakeChainRunner:
    """A ChainRunner calling ``handler(ref, inputs)``; default: echo the inputs as JSON."""

    def __init__(self, handler: Callable[[str, Mapping[str, Any]], Any] | None = None) -> None:
        self.handler = handler or (lambda ref, inputs: dict(inputs))
        self.calls: list[tuple[str, dict[str, Any], str | None]] = []

    async def run(
        self, ref: str, inputs: Mapping[str, Any], *, conversation_id: str | None, context: CallContext
    ) -> ChainResult:
        """Run the fake chain."""
        self.calls.append((ref, dict(inputs), conversation_id))
        output = self.handler(ref, inputs)
        text = output if isinstance(output, str) else json.dumps(output)
        return ChainResult(output, text, Usage(prompt_tokens=1, completion_tokens=1))


class InMemoryFileStore:
    """A FileStore over a dict: ``{file_id: (content, name, mime_type)}``."""

    def __init__(self, files: Mapping[str, tuple[bytes, str, str]] | None = None) -> None:
        self.files = dict(files or {})

    async def read(self, file_id: str, context: CallContext) -> tuple[bytes, str, str]:
        """The file's bytes, name and MIME type."""
        if file_id not in self.files:
            raise LookupError(f"no file {file_id!r}")
        return self.files[file_id]


class FakeHttpClient:
    """An HttpClient answering from ``routes``: ``{(METHOD, url): HttpResponse | callable(request)}``."""

    def __init__(
        self, routes: Mapping[tuple[str, str], HttpResponse | Callable[[HttpRequest], HttpResponse]]
    ):
        self.routes = routes
        self.requests: list[HttpRequest] = []

    async def request(self, request: HttpRequest) -> HttpResponse:
        """The routed response, or 404."""
        self.requests.append(request)
        route = self.routes.get((request.method.upper(), request.url))
        if route is None:
            return HttpResponse(404, {"content-type": "text/plain"}, b"not found", request.url)
        return route(request) if callable(route) else route
