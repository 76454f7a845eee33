"""Ports: everything outside the engine, as Protocols the platform implements (`workflows.testing` fakes).

Value types crossing a port are frozen dataclasses with ``to_dict``/``from_dict`` where the platform persists
them, so adapters need no knowledge of engine internals.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from workflows._events import Event

# --- models -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage of one or more model calls."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cached_tokens + other.cached_tokens,
        )

    def __bool__(self) -> bool:
        return bool(self.prompt_tokens or self.completion_tokens or self.cached_tokens)

    def to_dict(self) -> dict[str, int]:
        """JSON-compatible form."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens,
            "total_tokens": self.total_tokens,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Usage:
        """Inverse of ``to_dict`` (missing keys are zero)."""
        data = data or {}
        return cls(
            int(data.get("prompt_tokens", 0)),
            int(data.get("completion_tokens", 0)),
            int(data.get("cached_tokens", 0)),
        )


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the model asked for."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One chat message; ``tool_calls`` on assistant messages, ``tool_call_id`` on tool results."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form."""
        data: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            data["tool_calls"] = [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.tool_calls
            ]
        if self.tool_call_id:
            data["tool_call_id"] = self.tool_call_id
        return data


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as a model sees it: a name, a description and JSON-Schema parameters, plus its limits."""

    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    # Limits the registry enforces on every call: a slower call or a longer output is a ``ToolError``.
    timeout_seconds: float = 30.0
    max_output_chars: int = 100_000


@dataclass(frozen=True, slots=True)
class CallContext:
    """Who is calling a port: lets the platform meter usage per run and node, and scope data per tenant."""

    run_id: str
    node_id: str
    user_id: str | None = None
    workspace_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A chat call: ``model`` is a model endpoint reference (id or slug) the gateway resolves."""

    model: str
    messages: tuple[ChatMessage, ...]
    context: CallContext
    parameters: Mapping[str, Any] = field(default_factory=dict)
    tools: tuple[ToolSpec, ...] = ()
    response_format: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ChatResult:
    """A finished chat call."""

    text: str
    usage: Usage = Usage()
    model: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str = "stop"


@dataclass(frozen=True, slots=True)
class ChatChunk:
    """A streamed delta; the last chunk carries ``usage`` (and any tool calls)."""

    text: str = ""
    usage: Usage | None = None
    model: str = ""
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True, slots=True)
class EmbeddingResult:
    """Vectors for a batch of texts, in order."""

    vectors: list[list[float]]
    usage: Usage = Usage()
    model: str = ""


@runtime_checkable
class ModelGateway(Protocol):
    """Chat and embedding models behind one interface; the platform records usage per call."""

    async def chat(self, request: ChatRequest) -> ChatResult:
        """One completion."""
        ...

    def stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """A streamed completion; the final chunk carries usage."""
        ...

    async def embed(self, model: str, texts: Sequence[str], context: CallContext) -> EmbeddingResult:
        """Embed texts with the given embedding model reference."""
        ...


# --- knowledge ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetrievedChunk:
    """A passage returned by retrieval."""

    text: str
    score: float
    document_title: str = ""
    position: int = 0
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form (the knowledge_retrieval node's output items)."""
        return {
            "text": self.text,
            "score": self.score,
            "document_title": self.document_title,
            "position": self.position,
            "metadata": dict(self.metadata),
        }


class Retriever(Protocol):
    """Searches knowledge bases."""

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
        """The best chunks for ``query``, best first."""
        ...


# --- resources resolved by reference ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    """A versioned prompt rendered with variables."""

    messages: tuple[ChatMessage, ...]
    version: str = ""
    model: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """All message contents joined (what a text prompt renders to)."""
        return "\n\n".join(m.content for m in self.messages)


class PromptResolver(Protocol):
    """Renders a prompt by reference, e.g. ``summarize@production`` or ``summarize:3``."""

    async def render(self, ref: str, variables: Mapping[str, Any], context: CallContext) -> RenderedPrompt:
        """Resolve the reference to a pinned version and render it."""
        ...


@dataclass(frozen=True, slots=True)
class ChainResult:
    """What a chain run produced."""

    output: Any
    text: str = ""
    usage: Usage = Usage()


class ChainRunner(Protocol):
    """Runs a chain (prompt + model + parser ...) by reference."""

    async def run(
        self, ref: str, inputs: Mapping[str, Any], *, conversation_id: str | None, context: CallContext
    ) -> ChainResult:
        """Run the chain to completion."""
        ...


class FileStore(Protocol):
    """Resolves a file reference (``FileRef.file_id``) to its bytes."""

    async def read(self, file_id: str, context: CallContext) -> tuple[bytes, str, str]:
        """The content, file name and MIME type."""
        ...


# --- runs -----------------------------------------------------------------------------------------------

NodeStatus = Literal["succeeded", "failed", "skipped", "cancelled"]
RunStatus = Literal["running", "succeeded", "partial_succeeded", "failed", "cancelled"]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_dt(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


BODY_RECORD_MARK = "#"
BODY_RECORD_ID_MAX = 100


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """A finished node as checkpointed: enough to resume without running it again.

    Body records (``is_body_run``) are the other kind: one finished run of a container's body (an iteration
    item, a loop round), so a resumed run continues a container where it stopped. Their ``node_id`` is
    derived from the container's, ``<container>#<index>`` (``<outer>#<i>/<inner>#<j>`` inside another
    body; a longer path becomes ``<inner>#<j>@<hash of the path>``), at most ``BODY_RECORD_ID_MAX``
    characters; ``#`` never occurs in a node id. ``node_type`` is ``<container type>_item`` or ``_round``,
    ``outputs`` what the container keeps of that body run plus ``input_digest`` (restored only while the
    body's input is unchanged), ``usage`` the body run's model usage. They are checkpointed before their
    container's own record, so a run's records in checkpoint order read as a timeline.
    """

    node_id: str
    status: NodeStatus
    outputs: dict[str, Any] = field(default_factory=dict)
    error: dict[str, str] | None = None
    attempts: int = 1
    started_at: datetime | None = None
    finished_at: datetime | None = None
    usage: Usage = Usage()
    branch: str | None = "source"
    node_type: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form for persistence."""
        return {
            "node_id": self.node_id,
            "node_type": self.node_type,
            "status": self.status,
            "outputs": self.outputs,
            "error": self.error,
            "attempts": self.attempts,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "usage": self.usage.to_dict(),
            "branch": self.branch,
        }

    @property
    def is_body_run(self) -> bool:
        """Whether this records one run of a container's body (an item or round), not a node."""
        return BODY_RECORD_MARK in self.node_id

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NodeRecord:
        """Inverse of ``to_dict``."""
        return cls(
            node_id=data["node_id"],
            node_type=data.get("node_type", ""),
            status=data["status"],
            outputs=dict(data.get("outputs") or {}),
            error=data.get("error"),
            attempts=int(data.get("attempts", 1)),
            started_at=_parse_dt(data.get("started_at")),
            finished_at=_parse_dt(data.get("finished_at")),
            usage=Usage.from_dict(data.get("usage")),
            branch=data.get("branch"),
        )


@dataclass(frozen=True, slots=True)
class RunRecord:
    """Run-level state as saved when a run starts and ends."""

    run_id: str
    status: RunStatus
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    error: dict[str, str] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    usage: Usage = Usage()
    # On the final record: the conversation variables as the run left them (None: none declared).
    conversation: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form for persistence."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "error": self.error,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "usage": self.usage.to_dict(),
            "conversation": self.conversation,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        """Inverse of ``to_dict``."""
        return cls(
            run_id=data["run_id"],
            status=data["status"],
            inputs=dict(data.get("inputs") or {}),
            outputs=dict(data.get("outputs") or {}),
            error=data.get("error"),
            started_at=_parse_dt(data.get("started_at")),
            finished_at=_parse_dt(data.get("finished_at")),
            usage=Usage.from_dict(data.get("usage")),
            conversation=data.get("conversation"),
        )


class RunStore(Protocol):
    """Durable run state. ``checkpoint`` must be durable before it returns: successors start right after.

    Contract (checked by ``workflows.testing.RunStoreConformance``): checkpointing the same node again replaces its
    record; ``load`` returns records in checkpoint order; runs are isolated from each other; a record's
    ``node_id`` may be a body record's (up to ``BODY_RECORD_ID_MAX`` characters, with ``#``, ``/``, ``@``).
    """

    async def checkpoint(self, run_id: str, record: NodeRecord) -> None:
        """Persist a finished node."""
        ...

    async def load(self, run_id: str) -> list[NodeRecord]:
        """Every finished node of the run (empty for an unknown run)."""
        ...

    async def save_run(self, record: RunRecord) -> None:
        """Persist run-level state (status, outputs, totals)."""
        ...

    async def load_run(self, run_id: str) -> RunRecord | None:
        """Run-level state, or None for an unknown run."""
        ...


class EventSink(Protocol):
    """Receives every event of a run (the platform fans them out to websocket groups and SSE streams)."""

    async def emit(self, event: Event) -> None:
        """Deliver one event; must not raise for delivery problems it can absorb."""
        ...


# --- code, http, tools ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """Resource limits for one code run."""

    wall_seconds: float = 10.0
    cpu_seconds: int = 5
    memory_bytes: int = 256 * 1024 * 1024
    max_output_bytes: int = 1024 * 1024
    max_file_bytes: int = 16 * 1024 * 1024
    max_open_files: int = 64


@dataclass(frozen=True, slots=True)
class SandboxResult:
    """The outcome of a code run: ``outputs`` on success, else ``error_type`` and ``error``."""

    ok: bool
    outputs: dict[str, Any] = field(default_factory=dict)
    error_type: str = ""
    error: str = ""
    stdout: str = ""
    elapsed_seconds: float = 0.0


class CodeSandbox(Protocol):
    """Runs untrusted Python: ``code`` defines ``main(**inputs) -> dict``."""

    async def run(self, code: str, inputs: Mapping[str, Any], limits: SandboxLimits) -> SandboxResult:
        """Run the code under the limits; never raises for the code's own failures."""
        ...


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """An outbound HTTP request."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    content: bytes | None = None
    timeout_seconds: float = 30.0
    follow_redirects: bool = True
    max_response_bytes: int = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A response, body fully read (up to the request's cap)."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    url: str = ""

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (replacing undecodable bytes)."""
        return self.content.decode("utf-8", errors="replace")


class HttpClient(Protocol):
    """Outbound HTTP; the shipped ``GuardedHttpClient`` applies the SSRF guard."""

    async def request(self, request: HttpRequest) -> HttpResponse:
        """Send the request and read the response."""
        ...


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a tool returned; ``data`` must be JSON-compatible."""

    data: Any
    text: str = ""


class ToolRegistry(Protocol):
    """Tools the tool and agent nodes can call."""

    def list_tools(self) -> list[ToolSpec]:
        """Every tool."""
        ...

    def get(self, name: str) -> ToolSpec | None:
        """One tool's spec, or None."""
        ...

    async def invoke(self, name: str, arguments: Mapping[str, Any], context: CallContext) -> ToolResult:
        """Call a tool; raises ``ToolError`` on unknown tools, bad arguments or failures."""
        ...


@dataclass(slots=True)
class Ports:
    """The adapters an executor runs with; a node needing a missing port fails with PortNotConfiguredError."""

    models: ModelGateway | None = None
    retriever: Retriever | None = None
    sandbox: CodeSandbox | None = None
    http: HttpClient | None = None
    tools: ToolRegistry | None = None
    prompts: PromptResolver | None = None
    chains: ChainRunner | None = None
    files: FileStore | None = None
    events: EventSink | None = None
