"""The scheduler behind the executor: one ``_ScopeRun`` per scope (the top-level graph, or one run of a
container body), sharing a ``_RunState``.

Scheduling is dead-path elimination: a node becomes ready when every incoming edge is resolved; it runs when
at least one of them was taken, otherwise it is skipped and its own outgoing edges resolve as not taken.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from time import perf_counter
from typing import TYPE_CHECKING, Any

from workflows._dsl import ErrorStrategy
from workflows._errors import NodeError
from workflows._events import Event, NodeFinished, NodeRestored, NodeRetry, NodeStarted, TextChunk
from workflows._graph import CompiledNode, Scope
from workflows._ports import CallContext, ChatMessage, NodeRecord, RunStatus, Usage
from workflows._streaming import AnswerStream
from workflows.nodes._base import NodeContext, NodeResult

if TYPE_CHECKING:
    from workflows._executor import Executor

logger = logging.getLogger("workflows.executor")
REDACTED = "[REDACTED]"


@dataclass(frozen=True, slots=True)
class RunLimits:
    """Limits of one run: node executions (container bodies included), wall time, default node timeout."""

    max_steps: int = 10_000
    max_seconds: float = 3600.0
    node_timeout_seconds: float | None = None


class NodeTimeoutError(NodeError):
    """A node attempt ran past its ``timeout_seconds``."""


class BodyNodeError(NodeError):
    """A node inside a container body failed (with the ``fail`` strategy), failing the body run."""


class _Abort(BaseException):
    # A BaseException, so that a node's `except Exception` cannot swallow it.
    """Stops the whole run: cancellation, a limit, or a node failure with the ``fail`` strategy."""

    def __init__(self, status: RunStatus, error_type: str, message: str, node_id: str | None = None) -> None:
        super().__init__(message)
        self.status: RunStatus = status
        self.error = {"type": error_type, "message": message}
        self.node_id = node_id


def error_dict(exc: BaseException) -> dict[str, str]:
    """The ``{type, message}`` shape errors take in records and events."""
    return {"type": type(exc).__name__, "message": str(exc) or type(exc).__name__}


def _now() -> datetime:
    return datetime.now(UTC)


def _redact(value: Any, secrets: Sequence[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {k: _redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v, secrets) for v in value]
    return value


class _RunState:
    """Everything shared by the scopes of one run."""

    def __init__(self, executor: Executor, run_id: str, call: CallContext, history: tuple[ChatMessage, ...]):
        self.graph = executor.graph
        self.ports = executor.ports
        self.store = executor.store
        self.limits = executor.limits
        self.run_id = run_id
        self.call = call
        self.history = history
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.pool: dict[str, Any] = {}
        self.records: dict[str, NodeRecord] = {}
        self.restored: dict[str, NodeRecord] = {}
        self.secrets: tuple[str, ...] = ()
        self.steps = 0
        self.usage = Usage()
        self.handled_failures = 0
        self.end_outputs: dict[str, Any] = {}
        self.answers: list[str] = []
        self.top_done: asyncio.Queue[Any] | None = None
        self.aborting: _Abort | None = None

    def emit(self, event: Event) -> None:
        self.queue.put_nowait(event)

    def redact(self, value: Any) -> Any:
        return _redact(value, self.secrets) if self.secrets else value

    def abort(self, reason: _Abort) -> None:
        if self.aborting is None:
            self.aborting = reason
            if self.top_done is not None:
                self.top_done.put_nowait(reason)

    def call_for(self, node_id: str) -> CallContext:
        return CallContext(self.run_id, node_id, self.call.user_id, self.call.workspace_id)


class _ScopeRun:
    """Schedules one scope: the top-level graph, or one run of a container body."""

    def __init__(
        self, state: _RunState, scope: Scope, pool: dict[str, Any], parent_id: str | None, index: int | None
    ) -> None:
        self.state = state
        self.scope = scope
        self.pool = pool
        self.parent_id = parent_id
        self.index = index
        self.top = parent_id is None
        self.done: asyncio.Queue[Any] = asyncio.Queue()
        self.nodes = state.graph.nodes
        self.pending = {n: len(self.nodes[n].in_edges) for n in scope.node_ids}
        self.taken: set[str] = set()
        self.ready: deque[str] = deque(scope.entries)
        self.running: dict[str, asyncio.Task[None]] = {}
        self.streams = {
            n: AnswerStream(n, t, state.graph.stream_sources.get(n, frozenset()), self._emit_answer_text)
            for n in scope.node_ids
            if (t := self.nodes[n].stream_template) is not None
        }

    async def execute(self) -> None:
        """Run the scope to the end; raises _Abort (run-level) or BodyNodeError (body scopes)."""
        try:
            while True:
                self._start_ready()
                if not self.running:
                    return
                message = await self.done.get()
                if isinstance(message, _Abort):
                    raise message
                node_id, record = message
                del self.running[node_id]
                self._finished(self.nodes[node_id], record)
        except BaseException:
            await self._cancel_running()
            raise

    async def _cancel_running(self) -> None:
        tasks = list(self.running.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self.running.clear()

    # --- scheduling --------------------------------------------------------------------------------------

    def _start_ready(self) -> None:
        while self.ready:
            node_id = self.ready.popleft()
            node = self.nodes[node_id]
            if node_id not in self.taken and node.in_edges:
                self._resolve(node, NodeRecord(node_id, "skipped", branch=None, node_type=node.node.type))
            elif (record := self._restorable(node_id)) is not None:
                self._restore(node, record)
            else:
                self._start(node)

    def _start(self, node: CompiledNode) -> None:
        state = self.state
        state.steps += 1
        if state.steps > state.limits.max_steps:
            raise _Abort(
                "failed", "StepLimitExceeded", f"run exceeded {state.limits.max_steps} steps", node.id
            )
        for stream in self.streams.values():
            stream.node_started(node.id, self.pool)
        self.running[node.id] = asyncio.create_task(self._run_node(node))

    def _finished(self, node: CompiledNode, record: NodeRecord) -> None:
        if record.status == "failed" and record.branch is None:
            if self.top:
                self.state.records[node.id] = record
            error = record.error or {}
            message = f"node {node.id!r} failed: {error.get('type')}: {error.get('message')}"
            if self.top:
                raise _Abort("failed", error.get("type", "NodeError"), message, node.id)
            raise BodyNodeError(message)
        if record.status == "failed":
            self.state.handled_failures += 1
        self.state.usage += record.usage
        self._resolve(node, record)

    def _resolve(self, node: CompiledNode, record: NodeRecord) -> None:
        """Publish a node's outcome to the pool and resolve its outgoing edges."""
        if record.status != "skipped":
            self.pool[node.id] = record.outputs
            self._collect(node, record)
        if self.top:
            self.state.records[node.id] = record
        for edge in node.out_edges:
            if edge.handle == record.branch:
                self.taken.add(edge.target)
            self.pending[edge.target] -= 1
            if self.pending[edge.target] == 0:
                self.ready.append(edge.target)

    def _collect(self, node: CompiledNode, record: NodeRecord) -> None:
        for stream in self.streams.values():
            stream.node_finished(node.id, self.pool)
        own = self.streams.get(node.id)
        if own is not None and record.status == "succeeded":
            own.finish(self.pool, str(record.outputs.get("answer", "")))
        if self.top and node.node.type == "answer":
            self.state.answers.append(str(record.outputs.get("answer", "")))
        elif self.top and node.node.type == "end":
            self.state.end_outputs.update(record.outputs)

    def _restorable(self, node_id: str) -> NodeRecord | None:
        record = self.state.restored.get(node_id) if self.top else None
        if record is None or (record.status == "failed" and record.branch is None):
            return None
        return record if record.status in ("succeeded", "failed") else None

    def _restore(self, node: CompiledNode, record: NodeRecord) -> None:
        stream = self.streams.get(node.id)
        if stream is not None:
            stream.restored()
        state = self.state
        state.emit(
            NodeRestored(
                run_id=state.run_id,
                node_id=node.id,
                status=record.status,
                outputs=state.redact(record.outputs),
            )
        )
        if record.status == "failed":
            state.handled_failures += 1
        state.usage += record.usage
        self._resolve(node, record)

    def _emit_answer_text(self, node_id: str, text: str) -> None:
        self.state.emit(TextChunk(run_id=self.state.run_id, node_id=node_id, text=self.state.redact(text)))

    def _on_text(self, node_id: str, delta: str) -> None:
        state = self.state
        state.emit(TextChunk(run_id=state.run_id, node_id=node_id, text=state.redact(delta), channel="node"))
        for stream in self.streams.values():
            stream.text(node_id, delta)

    # --- running one node --------------------------------------------------------------------------------

    async def _run_node(self, node: CompiledNode) -> None:
        started = perf_counter()
        try:
            record = await self._attempts(node)
            if self.top and self.state.store is not None:
                await self.state.store.checkpoint(self.state.run_id, record)
            self._emit_finished(node, record, started)
            self.done.put_nowait((node.id, record))
        except asyncio.CancelledError:
            record = NodeRecord(node.id, "cancelled", branch=None, node_type=node.node.type)
            self._emit_finished(node, record, started)
            raise
        except _Abort as abort:
            self.done.put_nowait(abort)
        except Exception as exc:  # the store failed: the run cannot guarantee resume, so it stops
            logger.exception("checkpoint of node %s failed", node.id)
            self.done.put_nowait(_Abort("failed", type(exc).__name__, f"checkpoint failed: {exc}", node.id))

    def _emit_finished(self, node: CompiledNode, record: NodeRecord, started: float) -> None:
        state = self.state
        error = state.redact(record.error) if record.error else None
        state.emit(
            NodeFinished(
                run_id=state.run_id,
                node_id=node.id,
                node_type=node.node.type,
                status=record.status,
                outputs=state.redact(record.outputs),
                elapsed_ms=(perf_counter() - started) * 1000,
                usage=record.usage,
                error=error,
                attempts=record.attempts,
                branch=record.branch,
                parent_id=self.parent_id,
                index=self.index,
            )
        )

    async def _attempts(self, node: CompiledNode) -> NodeRecord:
        state, spec = self.state, node.node
        started_at = _now()
        state.emit(
            NodeStarted(
                run_id=state.run_id,
                node_id=node.id,
                node_type=spec.type,
                title=spec.title,
                parent_id=self.parent_id,
                index=self.index,
            )
        )
        ctx = NodeContext(
            node=spec,
            pool=self.pool,
            ports=state.ports,
            call=state.call_for(node.id),
            emit=state.emit,
            on_text=self._on_text,
            run_body=self._run_body,
            history=state.history,
            parent_id=self.parent_id,
            index=self.index,
        )
        timeout = spec.timeout_seconds or state.limits.node_timeout_seconds
        attempt = 0
        while True:
            attempt += 1
            try:
                result = await self._call(node, ctx, timeout)
                return NodeRecord(
                    node.id,
                    "succeeded",
                    result.outputs,
                    None,
                    attempt,
                    started_at,
                    _now(),
                    result.usage,
                    result.branch,
                    spec.type,
                )
            except Exception as exc:  # a node's failure, whatever it is, is data: it never crashes the run
                error = exc
            if attempt >= spec.retry.max_attempts:
                return self._failure(node, error, attempt, started_at)
            delay = spec.retry.delay(attempt)
            state.emit(
                NodeRetry(
                    run_id=state.run_id,
                    node_id=node.id,
                    attempt=attempt,
                    error=state.redact(error_dict(error)),
                    delay_seconds=delay,
                )
            )
            await asyncio.sleep(delay)

    @staticmethod
    async def _call(node: CompiledNode, ctx: NodeContext, timeout: float | None) -> NodeResult:
        if timeout is None:
            return await node.kind.run(node.config, ctx)
        try:
            async with asyncio.timeout(timeout):
                return await node.kind.run(node.config, ctx)
        except TimeoutError as exc:
            raise NodeTimeoutError(f"node timed out after {timeout:g}s") from exc

    def _failure(self, node: CompiledNode, exc: Exception, attempts: int, started_at: datetime) -> NodeRecord:
        spec = node.node
        error = error_dict(exc)
        error_outputs = {"error_type": error["type"], "error_message": error["message"]}
        if spec.error_strategy == ErrorStrategy.DEFAULT_VALUE:
            outputs, branch = {**spec.default_outputs, **error_outputs}, "source"
        elif spec.error_strategy == ErrorStrategy.FAIL_BRANCH:
            outputs, branch = error_outputs, "fail"
        else:
            outputs, branch = {}, None
        return NodeRecord(
            node.id, "failed", outputs, error, attempts, started_at, _now(), Usage(), branch, spec.type
        )

    async def _run_body(self, ctx: NodeContext, overlay: Mapping[str, Any], index: int) -> dict[str, Any]:
        # A shallow copy: body nodes add their own namespaces without touching the outer scope's pool.
        pool = {**self.pool, **overlay}
        body = _ScopeRun(self.state, self.state.graph.body(ctx.node.id), pool, ctx.node.id, index)
        await body.execute()
        return pool
