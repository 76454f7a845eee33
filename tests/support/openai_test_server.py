"""A small OpenAI-protocol HTTP server whose answers each test scripts: what a paid provider does, on demand.

It is a real server on a free loopback port (a thread running the standard library's HTTP server), so the code
under test goes through its real HTTP client, retries, timeouts and SSE parsing; nothing of the gateway is
mocked. Each request takes the next behaviour from a FIFO queue (or ``default`` when the queue is empty)::

    with OpenAITestServer() as server:
        server.script(status(429, retry_after=0.1), ok("Hello!", usage=(5, 2)))
        reply = OpenAI(base_url=server.url, api_key="sk-test").chat.completions.create(...)
        assert len(server.requests) == 2 and server.requests[0].headers["authorization"] == "Bearer sk-test"

Routes: ``POST /v1/chat/completions`` (JSON, or SSE when ``"stream": true``, with a final usage chunk when
``stream_options.include_usage``), ``POST /v1/embeddings``, ``POST /v1/rerank`` (the Cohere/Jina protocol),
``POST /v1/moderations`` and ``GET /v1/models``; the ``/v1`` prefix is optional. Behaviours: :func:`ok`,
:func:`ok_stream`, :func:`status`, :func:`delay`, :func:`malformed_stream`, :func:`disconnect`,
:func:`embeddings`, :func:`rerank`, :func:`moderation`, :func:`answer`. ``ok`` and ``ok_stream`` answer a chat request in
the form it asked for (streamed or not), an embeddings request with deterministic vectors, a rerank request
with word-overlap scores and a moderation request with "not flagged".
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
import socket
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Usage = tuple[int, int]  # (prompt_tokens, completion_tokens)
_CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")
_EMBEDDING_PATHS = ("/v1/embeddings", "/embeddings")
_MODEL_PATHS = ("/v1/models", "/models")
_RERANK_PATHS = ("/v1/rerank", "/rerank")
_MODERATION_PATHS = ("/v1/moderations", "/moderations")


@dataclass(frozen=True)
class RecordedRequest:
    """A request the server received: headers with lower-case names, the raw body and its JSON."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any
    received_at: float  # time.monotonic()

    @property
    def stream(self) -> bool:
        """Whether a chat request asked for SSE."""
        return isinstance(self.json, dict) and bool(self.json.get("stream"))

    @property
    def include_usage(self) -> bool:
        """Whether a streaming request asked for the final usage chunk."""
        options = self.json.get("stream_options") if isinstance(self.json, dict) else None
        return isinstance(options, dict) and bool(options.get("include_usage"))


class _Exchange:
    """One request being answered: what a behaviour uses to write its response."""

    def __init__(self, handler: _Handler, request: RecordedRequest, number: int) -> None:
        self.handler = handler
        self.request = request
        self.id = f"chatcmpl-test-{number}"
        self.created = int(time.time())
        self.model = (
            str((request.json or {}).get("model") or "test-model")
            if isinstance(request.json, dict)
            else "test-model"
        )

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake up early when the server stops (so a scripted hang never blocks teardown)."""
        self.handler.server.stopping.wait(seconds)

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.handler.send_response(status)
        self.handler.send_header("Content-Type", "application/json")
        self.handler.send_header("Content-Length", str(len(data)))
        self.handler.send_header("x-request-id", f"req-{self.id}")
        for name, value in (headers or {}).items():
            self.handler.send_header(name, value)
        self.handler.end_headers()
        self.handler.wfile.write(data)
        self.handler.wfile.flush()

    def start_sse(self) -> None:
        self.handler.send_response(200)
        self.handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.handler.send_header("Cache-Control", "no-cache")
        self.handler.send_header("Transfer-Encoding", "chunked")  # as OpenAI streams
        self.handler.send_header("x-request-id", f"req-{self.id}")
        self.handler.end_headers()
        self.handler.wfile.flush()

    def send_raw_chunk(self, payload: bytes) -> None:
        self.handler.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        self.handler.wfile.flush()

    def send_event(self, data: Any) -> None:
        text = data if isinstance(data, str) else json.dumps(data)
        self.send_raw_chunk(f"data: {text}\n\n".encode())

    def end_sse(self) -> None:
        self.send_event("[DONE]")
        self.handler.wfile.write(b"0\r\n\r\n")
        self.handler.wfile.flush()

    def abort(self) -> None:
        """Drop the TCP connection now (no more bytes, no clean end of the body)."""
        self.handler.close_connection = True
        self.handler.wfile.flush()
        # shutdown(), not close(): the server's own cleanup closes the socket object afterwards.
        with contextlib.suppress(OSError):
            self.handler.connection.shutdown(socket.SHUT_RDWR)

    # --- OpenAI payloads -------------------------------------------------------------------------------

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        if self.request.include_usage:
            body["usage"] = None  # OpenAI sends null usage on every chunk but the last
        return body

    def usage_chunk(self, usage: Usage) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": [],
            "usage": _usage_body(usage),
        }

    def completion(self, text: str, usage: Usage, finish_reason: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
            "usage": _usage_body(usage),
        }

    def prompt_tokens(self) -> int:
        """A deterministic stand-in for the prompt's token count: its words (at least 1)."""
        body = self.request.json if isinstance(self.request.json, dict) else {}
        if self.request.path in _EMBEDDING_PATHS:
            return max(1, sum(len(text.split()) for text in _inputs(body.get("input"))))
        words = 0
        for message in body.get("messages") or []:
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, str):
                words += len(content.split())
            elif isinstance(content, list):
                words += sum(
                    len(str(part.get("text", "")).split()) for part in content if isinstance(part, dict)
                )
        return max(1, words)


def _usage_body(usage: Usage) -> dict[str, int]:
    prompt, completion = usage
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _inputs(raw: Any) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list):
        return [item if isinstance(item, str) else json.dumps(item) for item in raw]
    return []


def fake_embedding(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector for ``text`` (same text, same vector), from its sha256."""
    values: list[float] = []
    for block in itertools.count():
        digest = hashlib.sha256(f"{block}:{text}".encode()).digest()
        values.extend((byte - 127.5) / 127.5 for byte in digest)
        if len(values) >= dimensions:
            break
    values = values[:dimensions]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


# --- behaviours -------------------------------------------------------------------------------------------


class Behaviour:
    """How to answer one request."""

    def respond(self, exchange: _Exchange) -> None:
        raise NotImplementedError


def _embeddings_reply(
    exchange: _Exchange, dimensions: int, vectors: Sequence[Sequence[float]] | None
) -> None:
    body = exchange.request.json if isinstance(exchange.request.json, dict) else {}
    texts = _inputs(body.get("input"))
    rows = list(vectors) if vectors is not None else [fake_embedding(t, dimensions) for t in texts]
    tokens = exchange.prompt_tokens()
    exchange.send_json(
        200,
        {
            "object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": list(v)} for i, v in enumerate(rows)],
            "model": exchange.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        },
    )


@dataclass(frozen=True)
class Ok(Behaviour):
    """A successful answer; see :func:`ok` and :func:`ok_stream`."""

    chunks: tuple[str, ...]
    usage: Usage | None = None
    finish_reason: str = "stop"
    ttft_delay: float = 0.0
    chunk_delay: float = 0.0
    dimensions: int = 8

    def respond(self, exchange: _Exchange) -> None:
        if exchange.request.path in _EMBEDDING_PATHS:
            _embeddings_reply(exchange, self.dimensions, None)
            return
        if exchange.request.path in _RERANK_PATHS:
            Rerank().respond(exchange)
            return
        if exchange.request.path in _MODERATION_PATHS:
            Moderation().respond(exchange)
            return
        text = "".join(self.chunks)
        usage = self.usage or (exchange.prompt_tokens(), max(1, len(text.split())))
        if self.ttft_delay:
            exchange.sleep(self.ttft_delay)
        if not exchange.request.stream:
            exchange.send_json(200, exchange.completion(text, usage, self.finish_reason))
            return
        exchange.start_sse()
        exchange.send_event(exchange.chunk({"role": "assistant", "content": "", "refusal": None}))
        for index, piece in enumerate(self.chunks):
            if index and self.chunk_delay:
                exchange.sleep(self.chunk_delay)
            exchange.send_event(exchange.chunk({"content": piece}))
        exchange.send_event(exchange.chunk({}, finish_reason=self.finish_reason))
        if exchange.request.include_usage:
            exchange.send_event(exchange.usage_chunk(usage))
        exchange.end_sse()


def ok(text: str = "ok", usage: Usage | None = None, finish_reason: str = "stop") -> Ok:
    """Answer ``text`` (streamed as a single chunk if the request streams); ``usage`` = (prompt, completion).

    Without ``usage`` the counts are the words of the prompt and of ``text``. An embeddings request gets
    deterministic 8-dimensional unit vectors.
    """
    return Ok(chunks=(text,), usage=usage, finish_reason=finish_reason)


def ok_stream(
    chunks: Sequence[str],
    ttft_delay: float = 0.0,
    chunk_delay: float = 0.0,
    usage: Usage | None = None,
    finish_reason: str = "stop",
) -> Ok:
    """Stream ``chunks`` as separate SSE events, the first after ``ttft_delay`` s, the others ``chunk_delay``
    s apart (a non-streaming request gets them joined, after ``ttft_delay``)."""
    return Ok(
        chunks=tuple(chunks),
        usage=usage,
        finish_reason=finish_reason,
        ttft_delay=ttft_delay,
        chunk_delay=chunk_delay,
    )


@dataclass(frozen=True)
class Embeddings(Behaviour):
    """Fixed embedding vectors, or deterministic ones of ``dimensions``; see :func:`embeddings`."""

    vectors: tuple[tuple[float, ...], ...] | None = None
    dimensions: int = 8

    def respond(self, exchange: _Exchange) -> None:
        _embeddings_reply(exchange, self.dimensions, self.vectors)


def embeddings(vectors: Sequence[Sequence[float]] | None = None, dimensions: int = 8) -> Embeddings:
    """Answer an embeddings request with ``vectors`` (one per input, in order) or hash-based unit vectors."""
    fixed = tuple(tuple(float(x) for x in row) for row in vectors) if vectors is not None else None
    return Embeddings(vectors=fixed, dimensions=dimensions)


def _overlap(query: str, document: str) -> float:
    """The share of the query's words found in the document (a deterministic stand-in for relevance)."""
    words = set(query.lower().split())
    return len(words & set(document.lower().split())) / len(words) if words else 0.0


@dataclass(frozen=True)
class Rerank(Behaviour):
    """A ``/rerank`` answer; see :func:`rerank`."""

    prefer: str | None = None
    scores: tuple[float, ...] | None = None
    tokens: int | None = None
    search_units: int | None = None

    def score(self, query: str, index: int, document: str) -> float:
        if self.scores is not None:
            return self.scores[index]
        if self.prefer is not None:
            return 0.9 if self.prefer.lower() in document.lower() else 0.1
        return _overlap(query, document)

    def respond(self, exchange: _Exchange) -> None:
        body = exchange.request.json if isinstance(exchange.request.json, dict) else {}
        query, documents = str(body.get("query", "")), _inputs(body.get("documents"))
        rows = [{"index": i, "relevance_score": self.score(query, i, doc)} for i, doc in enumerate(documents)]
        rows.sort(key=lambda row: -float(row["relevance_score"]))
        answer: dict[str, Any] = {"id": f"rerank-{exchange.id}", "results": rows[: body.get("top_n") or None]}
        if self.tokens is not None:
            answer["usage"] = {"total_tokens": self.tokens}
        if self.search_units is not None:
            answer["meta"] = {"billed_units": {"search_units": self.search_units}}
        exchange.send_json(200, answer)


def rerank(
    prefer: str | None = None,
    scores: Sequence[float] | None = None,
    tokens: int | None = None,
    search_units: int | None = None,
) -> Rerank:
    """Answer a rerank request, best first: documents containing ``prefer`` score 0.9 and the others 0.1, or
    the fixed ``scores`` (one per document, in input order), or else the share of the query's words each
    document contains. ``tokens`` adds Jina's ``usage.total_tokens``, ``search_units`` Cohere's
    ``meta.billed_units.search_units``."""
    fixed = tuple(float(score) for score in scores) if scores is not None else None
    return Rerank(prefer, fixed, tokens, search_units)


@dataclass(frozen=True)
class Moderation(Behaviour):
    """A ``/moderations`` answer; see :func:`moderation`."""

    categories: tuple[str, ...] = ()

    def respond(self, exchange: _Exchange) -> None:
        body = exchange.request.json if isinstance(exchange.request.json, dict) else {}
        names = sorted({"hate", "violence", *self.categories})
        result = {
            "flagged": bool(self.categories),
            "categories": {name: name in self.categories for name in names},
            "category_scores": {name: 0.99 if name in self.categories else 0.01 for name in names},
        }
        exchange.send_json(
            200,
            {
                "id": f"modr-{exchange.id}",
                "model": exchange.model,
                "results": [result] * len(_inputs(body.get("input"))),
            },
        )


def moderation(*categories: str) -> Moderation:
    """Answer a moderation request: flagged in ``categories`` (not flagged when none is given)."""
    return Moderation(tuple(categories))


@dataclass(frozen=True)
class Answer(Behaviour):
    """A fixed JSON body; see :func:`answer`."""

    code: int
    body: Any

    def respond(self, exchange: _Exchange) -> None:
        exchange.send_json(self.code, self.body)


def answer(body: Any, code: int = 200) -> Answer:
    """Answer any route with ``body`` as JSON, as is (for answers that break a protocol)."""
    return Answer(code, body)


_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", None),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


@dataclass(frozen=True)
class Status(Behaviour):
    """An error status with an OpenAI-shaped body; see :func:`status`."""

    code: int
    retry_after: float | None = None
    message: str | None = None
    error_type: str | None = None
    error_code: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def respond(self, exchange: _Exchange) -> None:
        default_type, default_code = _ERROR_TYPES.get(self.code, ("server_error", None))
        headers = dict(self.headers)
        if self.retry_after is not None:
            headers["retry-after"] = f"{self.retry_after:g}"
        body = {
            "error": {
                "message": self.message or f"scripted error {self.code}",
                "type": self.error_type or default_type,
                "param": None,
                "code": self.error_code or default_code,
            }
        }
        exchange.send_json(self.code, body, headers)


def status(
    code: int,
    retry_after: float | None = None,
    message: str | None = None,
    error_type: str | None = None,
    error_code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Status:
    """Answer with HTTP ``code`` and an OpenAI error body; ``retry_after`` (seconds) sets ``retry-after``."""
    return Status(code, retry_after, message, error_type, error_code, tuple((headers or {}).items()))


@dataclass(frozen=True)
class Delay(Behaviour):
    """Wait, then behave like ``then``; see :func:`delay`."""

    seconds: float
    then: Behaviour = field(default_factory=lambda: ok())

    def respond(self, exchange: _Exchange) -> None:
        exchange.sleep(self.seconds)
        if not exchange.handler.server.stopping.is_set():
            self.then.respond(exchange)


def delay(seconds: float, then: Behaviour | None = None) -> Delay:
    """Send nothing for ``seconds`` (a client with a shorter timeout times out), then answer as ``then``."""
    return Delay(seconds, then or ok())


@dataclass(frozen=True)
class Malformed(Behaviour):
    """A broken stream; see :func:`malformed_stream`."""

    kind: Literal["bad_json", "truncated", "no_done"]
    text_before: str

    def respond(self, exchange: _Exchange) -> None:
        exchange.start_sse()
        exchange.send_event(exchange.chunk({"role": "assistant", "content": ""}))
        if self.text_before:
            exchange.send_event(exchange.chunk({"content": self.text_before}))
        if self.kind == "bad_json":
            exchange.send_raw_chunk(b'data: {"id": "broken", "choices": [{"delta": {"content": "x"\n\n')
            exchange.end_sse()
        elif self.kind == "truncated":
            # Half an SSE event in a chunk that promises more bytes than follow, then the connection drops.
            exchange.handler.wfile.write(b'400\r\ndata: {"id": "cut')
            exchange.abort()
        else:  # no_done: a clean end of the HTTP body, but no finish_reason and no [DONE]
            exchange.handler.wfile.write(b"0\r\n\r\n")
            exchange.handler.wfile.flush()


def malformed_stream(
    kind: Literal["bad_json", "truncated", "no_done"] = "bad_json", text_before: str = "partial "
) -> Malformed:
    """A streaming answer that breaks after ``text_before``: ``bad_json`` (an event that is not JSON),
    ``truncated`` (the connection drops mid-event) or ``no_done`` (the body ends without ``[DONE]``)."""
    return Malformed(kind, text_before)


@dataclass(frozen=True)
class Disconnect(Behaviour):
    """Close the connection without any response; see :func:`disconnect`."""

    def respond(self, exchange: _Exchange) -> None:
        exchange.abort()


def disconnect() -> Disconnect:
    """Drop the connection before sending a status line (the client sees a connection error)."""
    return Disconnect()


# --- the server -------------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            parsed = json.loads(body) if body else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            parsed = None
        path = self.path.split("?", 1)[0].rstrip("/")
        request = RecordedRequest(
            method=self.command,
            path=path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            json=parsed,
            received_at=time.monotonic(),
        )
        owner = self.server.owner
        number = owner._record(request)
        exchange = _Exchange(self, request, number)
        if self.command == "GET" and path in _MODEL_PATHS:
            card = {"id": "test-model", "object": "model", "created": 0, "owned_by": "test"}
            exchange.send_json(200, {"object": "list", "data": [card]})
            return
        routes = (*_CHAT_PATHS, *_EMBEDDING_PATHS, *_RERANK_PATHS, *_MODERATION_PATHS)
        if self.command != "POST" or path not in routes:
            status(404, message=f"no route {self.command} {path}", error_code="unknown_url").respond(exchange)
            return
        if parsed is None:
            status(400, message="the request body is not valid JSON").respond(exchange)
            return
        try:
            owner._next_behaviour().respond(exchange)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout): nothing left to answer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests assert on server.requests; access logs would only be noise


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, owner: OpenAITestServer) -> None:
        self.owner = owner
        self.stopping = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)


class OpenAITestServer:
    """The scripted server; a context manager, or call :meth:`start` / :meth:`stop`.

    ``url`` is the base URL for an OpenAI client (``http://127.0.0.1:<port>/v1``); ``requests`` lists what
    was received, in order; :meth:`script` appends behaviours; ``default`` answers when the queue is empty.
    """

    def __init__(self, default: Behaviour | None = None) -> None:
        self.default: Behaviour = default or ok()
        self._queue: deque[Behaviour] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> OpenAITestServer:
        """Bind a free port and serve in a daemon thread."""
        self._server = _HTTPServer(self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="openai-test-server", daemon=True)  # fmt: skip
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; scripted delays in flight end at once."""
        if self._server is None:
            return
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> OpenAITestServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # scripting and inspection

    @property
    def port(self) -> int:
        """The port it listens on."""
        if self._server is None:
            raise RuntimeError("the OpenAI test server is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL for OpenAI clients, ending in ``/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *behaviours: Behaviour) -> OpenAITestServer:
        """Queue behaviours: each request takes the next one."""
        with self._lock:
            self._queue.extend(behaviours)
        return self

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the requests received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def pending(self) -> int:
        """How many scripted behaviours no request has taken yet."""
        with self._lock:
            return len(self._queue)

    def reset(self) -> None:
        """Forget the queue and the recorded requests."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()

    def _record(self, request: RecordedRequest) -> int:
        with self._lock:
            self._requests.append(request)
            return len(self._requests)

    def _next_behaviour(self) -> Behaviour:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default
