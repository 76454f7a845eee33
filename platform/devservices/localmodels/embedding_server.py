"""A small OpenAI-compatible embeddings server for the local embedding models (standard library HTTP).

Two models, chosen by the request's ``model``: ``use-multilingual-v3`` (Universal Sentence Encoder
multilingual, 512 dims, the default for new knowledge bases: Chinese, English and cross-language) and
``all-minilm-l6-v2`` (English, 384 dims, kept so knowledge bases embedded with it keep working). It also
serves a reranker, model ``qwen-rerank``: the local instruction model on the chat server scoring each passage
(``devservices.localmodels.llm_reranker``).

``POST /v1/embeddings`` takes ``{"model": ..., "input": str | [str, ...], "encoding_format"?: "float" |
"base64", "dimensions"?: <the model's>}`` and answers as OpenAI does; ``GET /v1/models`` lists the models; ``GET
/health`` answers 200 (the socket is only opened once the model is loaded, so any answer means ready).
``POST /v1/rerank`` takes the Cohere/Jina body ``{"model": "qwen-rerank", "query": str, "documents": [str |
{"text": str}, ...], "top_n"?: int, "return_documents"?: bool}`` and answers ``{"model", "results": [{"index",
"relevance_score"}, ...] (best first), "usage": {"total_tokens"}, "timings": {"pairs", "seconds",
"seconds_per_pair"}}``; a chat server that is down or failing answers 503 with the reason.
Errors have OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, so SDK clients raise their
usual exceptions (400 -> ``BadRequestError``, 404 -> ``NotFoundError``).
"""

from __future__ import annotations

import base64
import json
import signal
import sys
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from devservices.localmodels.config import (
    EMBEDDING_DIMENSIONS,
    EMBEDDING_MODEL,
    HOST,
    MULTILINGUAL_EMBEDDING_DIMENSIONS,
    MULTILINGUAL_EMBEDDING_MODEL,
    RERANK_MODEL,
)
from devservices.localmodels.config import rerank_chat_url as default_rerank_chat_url
from devservices.localmodels.encoder import Embeddings, MiniLMEncoder
from devservices.localmodels.llm_reranker import ChatServerError, LLMReranker, passage_tokens_from_env

MAX_INPUTS = 2048  # OpenAI's limit per request
MAX_BODY_BYTES = 16 * 1024 * 1024
# Names a client may reasonably use for each model; anything else is a 404 as at OpenAI, which catches a
# misconfigured provider instead of silently embedding with the wrong model.
MODEL_ALIASES = {
    EMBEDDING_MODEL: frozenset(
        {
            EMBEDDING_MODEL,
            "sentence-transformers/all-minilm-l6-v2",
            "all-minilm-l6-v2-onnx-int8",
            "text-embedding-minilm",
        }
    ),
    MULTILINGUAL_EMBEDDING_MODEL: frozenset(
        {MULTILINGUAL_EMBEDDING_MODEL, "universal-sentence-encoder-multilingual", "use-multilingual"}
    ),
}
RERANK_ALIASES = frozenset({RERANK_MODEL, "qwen2.5-coder-1.5b-instruct-rerank"})
MAX_RERANK_DOCUMENTS = 100  # a pair costs about a second: a longer list is a mistake, not a workload
DIMENSIONS = {
    EMBEDDING_MODEL: EMBEDDING_DIMENSIONS,
    MULTILINGUAL_EMBEDDING_MODEL: MULTILINGUAL_EMBEDDING_DIMENSIONS,
}


class Encoder(Protocol):
    """What the server needs of a model: unit vectors and a token count for a list of texts."""

    def encode(self, texts: list[str]) -> Embeddings:
        """Embed ``texts`` in order."""
        ...


@dataclass(frozen=True)
class Reply:
    """An HTTP status and a JSON body."""

    status: int
    body: dict[str, Any]


def error(status: int, message: str, param: str | None = None, code: str | None = None) -> Reply:
    """An OpenAI-shaped error reply."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    return Reply(status, {"error": {"message": message, "type": kind, "param": param, "code": code}})


class EmbeddingService:
    """The protocol logic, apart from HTTP, so it can be exercised directly."""

    def __init__(self, encoders: dict[str, Encoder], reranker: LLMReranker | None = None) -> None:
        self.encoders = encoders
        self.reranker = reranker
        self._names = {alias: name for name in encoders for alias in MODEL_ALIASES[name]}
        # One forward pass at a time: each model already uses the cores, so overlapping runs only thrash.
        self._run_lock = threading.Lock()

    def models(self) -> Reply:
        """``GET /v1/models``."""
        cards = [
            {"id": name, "object": "model", "created": 0, "owned_by": "llmops-local"}
            for name in self.encoders
        ]
        return Reply(200, {"object": "list", "data": cards})

    def embeddings(self, payload: Any) -> Reply:
        """``POST /v1/embeddings`` for an already JSON-decoded body."""
        if not isinstance(payload, dict):
            return error(400, "the request body must be a JSON object")
        model = payload.get("model")
        if not isinstance(model, str) or not model.strip():
            return error(400, "'model' is required and must be a string", param="model")
        name = self._names.get(model.strip().lower())
        if name is None:
            known = ", ".join(f"`{known}`" for known in self.encoders)
            return error(404, f"The model `{model}` does not exist; this server has {known}.",
                         param="model", code="model_not_found")  # fmt: skip
        texts_or_error = _validate_input(payload.get("input"))
        if isinstance(texts_or_error, Reply):
            return texts_or_error
        texts = texts_or_error
        encoding_format = payload.get("encoding_format") or "float"
        if encoding_format not in ("float", "base64"):
            return error(400, "'encoding_format' must be 'float' or 'base64'", param="encoding_format")
        dimensions = payload.get("dimensions")
        if dimensions is not None and dimensions != DIMENSIONS[name]:
            return error(400, f"this model only produces {DIMENSIONS[name]} dimensions", param="dimensions")
        with self._run_lock:
            result = self.encoders[name].encode(texts)
        data = []
        for index, vector in enumerate(result.vectors):
            # base64 is what the openai SDK asks for by default: little-endian float32 bytes.
            embedding: Any = (
                base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
                if encoding_format == "base64"
                else vector.tolist()
            )
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        usage = {"prompt_tokens": result.token_count, "total_tokens": result.token_count}
        return Reply(200, {"object": "list", "data": data, "model": model, "usage": usage})

    def rerank(self, payload: Any) -> Reply:
        """``POST /v1/rerank`` (the Cohere/Jina protocol) for an already JSON-decoded body."""
        if not isinstance(payload, dict):
            return error(400, "the request body must be a JSON object")
        model = payload.get("model")
        if not isinstance(model, str) or not model.strip():
            return error(400, "'model' is required and must be a string", param="model")
        if self.reranker is None or model.strip().lower() not in RERANK_ALIASES:
            known = f"`{RERANK_MODEL}`" if self.reranker is not None else "no rerank model"
            return error(404, f"The rerank model `{model}` does not exist; this server has {known}.",
                         param="model", code="model_not_found")  # fmt: skip
        query = payload.get("query")
        if not isinstance(query, str) or not query.strip():
            return error(400, "'query' is required and must be a non-empty string", param="query")
        texts = _validate_documents(payload.get("documents"))
        if isinstance(texts, Reply):
            return texts
        top_n = payload.get("top_n")
        if top_n is None:
            top_n = len(texts)
        elif isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1:
            return error(400, "'top_n' must be a positive whole number", param="top_n")
        return_documents = payload.get("return_documents", False)
        if not isinstance(return_documents, bool):
            return error(400, "'return_documents' must be true or false", param="return_documents")
        try:
            result = self.reranker.score(query, texts)
        except ChatServerError as exc:
            code = "chat_server_unavailable" if exc.status == 503 else "chat_server_bad_answer"
            return error(exc.status, f"the reranker cannot ask its model: {exc}", code=code)
        order = sorted(range(len(texts)), key=lambda i: (-result.scores[i], i))[:top_n]
        results: list[dict[str, Any]] = []
        for index in order:
            row: dict[str, Any] = {"index": index, "relevance_score": round(result.scores[index], 6)}
            if return_documents:
                row["document"] = {"text": texts[index]}
            results.append(row)
        per_pair = result.seconds / result.pairs if result.pairs else 0.0
        timings = {
            "pairs": result.pairs,
            "seconds": round(result.seconds, 3),
            "seconds_per_pair": round(per_pair, 3),
        }
        return Reply(200, {"model": model, "results": results, "usage": {"total_tokens": result.total_tokens},
                           "timings": timings})  # fmt: skip


def _validate_documents(raw: Any) -> list[str] | Reply:
    if not isinstance(raw, list) or not raw:
        return error(400, "'documents' must be a non-empty array of strings", param="documents")
    if len(raw) > MAX_RERANK_DOCUMENTS:
        return error(400, f"'documents' has {len(raw)} items; at most {MAX_RERANK_DOCUMENTS} are allowed",
                     param="documents")  # fmt: skip
    texts: list[str] = []
    for index, item in enumerate(raw):
        text = item.get("text") if isinstance(item, dict) else item  # Cohere/Jina also take {"text": ...}
        if not isinstance(text, str):
            return error(
                400, f"'documents[{index}]' must be a string or {{\"text\": string}}", param="documents"
            )
        texts.append(text)
    return texts


def _validate_input(raw: Any) -> list[str] | Reply:
    if isinstance(raw, str):
        raw = [raw]
    elif not isinstance(raw, list):
        return error(400, "'input' must be a string or an array of strings", param="input")
    if not raw:
        return error(400, "'input' must not be empty", param="input")
    if len(raw) > MAX_INPUTS:
        return error(400, f"'input' has {len(raw)} items; at most {MAX_INPUTS} are allowed", param="input")
    for index, item in enumerate(raw):
        if isinstance(item, str):
            if not item.strip():
                return error(400, f"'input[{index}]' is empty; every input must contain text", param="input")
            continue
        if isinstance(item, int | list):
            # langchain's OpenAIEmbeddings sends tiktoken ids unless check_embedding_ctx_length=False.
            return error(400, "token arrays are not supported, send strings (LangChain: OpenAIEmbeddings("
                         "check_embedding_ctx_length=False))", param="input")  # fmt: skip
        return error(400, f"'input[{index}]' must be a string, not {type(item).__name__}", param="input")
    return list(raw)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: SDK clients reuse connections
    # Headers and body go out as two writes: with Nagle on, the body waits for the client's delayed ACK of
    # the headers (40 ms on Linux), which was most of a single query's embedding latency.
    disable_nagle_algorithm = True
    server: EmbeddingHTTPServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/health":
            self._send(Reply(200, {"status": "ok"}))
        elif path in ("/v1/models", "/models"):
            self._send(self.server.service.models())
        else:
            self._send(error(404, f"no route GET {path}"))

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        body = self._read_body()
        if isinstance(body, Reply):
            self._send(body)
            return
        routes = {
            "/v1/embeddings": self.server.service.embeddings,
            "/embeddings": self.server.service.embeddings,
            "/v1/rerank": self.server.service.rerank,
            "/rerank": self.server.service.rerank,
        }
        handle = routes.get(path)
        if handle is None:
            self._send(error(404, f"no route POST {path}"))
            return
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self._send(error(400, f"the request body is not valid JSON: {exc}"))
            return
        try:
            reply = handle(payload)
        except Exception as exc:  # a bug must answer 500 like a provider would, not drop the connection
            self.log_error("%s failed: %r", path, exc)
            reply = error(500, "the model failed; see the server log")
        self._send(reply)

    def _read_body(self) -> bytes | Reply:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            return error(400, "bad Content-Length")
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # we do not read the body, so the connection cannot be reused
            return error(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
        return self.rfile.read(length)

    def _send(self, reply: Reply) -> None:
        data = json.dumps(reply.body, separators=(",", ":")).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.quiet:
            return
        sys.stderr.write(f"embeddings {self.address_string()} {format % args}\n")

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if isinstance(code, HTTPStatus):
            code = code.value
        self.log_message('"%s" %s', self.requestline, code)


class EmbeddingHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server carrying the :class:`EmbeddingService`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], service: EmbeddingService, quiet: bool = False) -> None:
        self.service = service
        self.quiet = quiet
        super().__init__(address, _Handler)


def load_encoders() -> dict[str, Encoder]:
    """Both local embedding models, loaded (about 1.5 s together)."""
    from devservices.localmodels.multilingual_encoder import MultilingualEncoder

    return {MULTILINGUAL_EMBEDDING_MODEL: MultilingualEncoder(), EMBEDDING_MODEL: MiniLMEncoder()}


def make_server(
    port: int,
    host: str = HOST,
    encoders: dict[str, Encoder] | None = None,
    quiet: bool = False,
    reranker: LLMReranker | None = None,
) -> EmbeddingHTTPServer:
    """Load the models (unless given) and bind ``host:port`` (0 picks a free port); does not serve yet.

    Without ``reranker`` the server has no rerank model (``/v1/rerank`` answers 404).
    """
    service = EmbeddingService(encoders if encoders is not None else load_encoders(), reranker)
    return EmbeddingHTTPServer((host, port), service, quiet=quiet)


def serve(
    port: int,
    host: str = HOST,
    quiet: bool = False,
    rerank_chat_url: str | None = None,
    rerank_passage_tokens: int | None = None,
) -> None:
    """Run the server in the foreground until SIGINT or SIGTERM; ``/v1/rerank`` asks the chat server at
    ``rerank_chat_url`` (default ``$LLMOPS_RERANK_CHAT_URL`` or the local chat server)."""
    started = time.monotonic()
    reranker = LLMReranker(
        rerank_chat_url or default_rerank_chat_url(),
        passage_tokens=rerank_passage_tokens or passage_tokens_from_env(),
    )
    server = make_server(port, host, quiet=quiet, reranker=reranker)

    def stop(signum: int, frame: object) -> None:
        # shutdown() waits for serve_forever, which runs in this thread: ask from another one.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    bound_port = server.server_address[1]
    print(
        f"embedding server ({MULTILINGUAL_EMBEDDING_MODEL}, {MULTILINGUAL_EMBEDDING_DIMENSIONS} dims;"
        f" {EMBEDDING_MODEL}, {EMBEDDING_DIMENSIONS} dims; {RERANK_MODEL} via {reranker.chat_url},"
        f" passages cut to {reranker.passage_tokens} tokens) on http://{host}:{bound_port}/v1,"
        f" ready in {time.monotonic() - started:.2f} s",
        flush=True,
    )
    with server:
        server.serve_forever(poll_interval=0.2)
