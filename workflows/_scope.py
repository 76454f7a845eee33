"""The scheduler behind the executor: one ``_ScopeRun`` per scope (the top-level graph, or one run of a
container body), sharing a ``_RunState``.

Scheduling is dead-path elimination: a node becomes ready when every incoming edge is resolved; it runs when
at least one of them was taken, otherwise it is skipped and its own outgoing edges resolve as not taken.

Checkpoints: a top-level node's record is written before its successors start; inside container bodies,
each finished body run (an item, a round) is one body record (``workflows._bodies``), restored on resume with
a ``node_restored`` event, its usage and handled failures counted again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import perf_counter
from typing import TYPE_CHECKING, Any

from workflows import _bodies
from workflows._dsl import ErrorStrategy
from workflows._errors import NodeError
from workflows._events import Event, NodeFinished, NodeRestored, NodeRetry, NodeStarted, TextChunk
from workflows._graph import CompiledNode, Scope
from workflows._jinja import TemplateLimits
from workflows._ports import CallContext, ChatMessage, NodeRecord, RunStatus, Usage
from workflows._streaming import AnswerStream
from workflows.nodes._base import NodeContext, NodeResult, Summarize

if TYPE_CHECKING:
    from workflows._executor import Executor

logger = logging.getLogger("workflows.executor")
REDACTED = "[REDACTED]"
_NO_USAGE = Usage()  # frozen: shared as every scope's starting total


@dataclass(frozen=True, slots=True)
class RunLimits:
    """Limits of one run: node executions (container bodies included), wall time, default node timeout, and
    what each template render may spend (``templates``)."""

    max_steps: int = 10_000
    max_seconds: float = 3600.0
    node_timeout_seconds: float | None = None
    templates: TemplateLimits = field(default_factory=TemplateLimits)


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
        self,
        state: _RunState,
        scope: Scope,
        pool: dict[str, Any],
        parent_id: str | None,
        index: int | None,
        path: str = "",
    ) -> None:
        self.state = state
        self.scope = scope
        self.pool = pool
        self.parent_id = parent_id
        self.index = index
        self.top = parent_id is None
        # The body record id of this body run ("" at the top); nested body records are named under it.
        self.path = path
        # What this scope and the bodies it ran used: the usage and handled failures of its body record.
        self.usage = _NO_USAGE
        self.handled = 0
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
        self._account(record.usage, 1 if record.status == "failed" else 0)
        self._resolve(node, record)

    def _account(self, usage: Usage, handled: int) -> None:
        """Add to the run's totals, and to this scope's (reported by its body record, when it has one)."""
        if usage:
            self.state.usage += usage
            self.usage += usage
        if handled:
            self.state.handled_failures += handled
            self.handled += handled

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
        usage, handled = record.usage, 1 if record.status == "failed" else 0
        if node.kind.container:
            body_usage, body_handled = _bodies.restored_totals(state.restored, node.id)
            usage, handled = usage + body_usage, handled + body_handled
        self._account(usage, handled)
        if node.node.type == "variable_assigner" and record.status == "succeeded":
            # Its writes are not run again: apply what it wrote to the conversation variables.
            conversation = self.pool.get("conversation")
            if isinstance(conversation, dict):
                conversation.update(record.outputs.get("written") or {})
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
            run_checkpointed=self._run_body_checkpointed,
            template_limits=state.limits.templates,
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

    # --- container bodies ----------------------------------------------------------------------------------

    async def _run_body(self, ctx: NodeContext, overlay: Mapping[str, Any], index: int) -> dict[str, Any]:
        path = _bodies.body_record_id(self.path, ctx.node.id, index) if self.state.store else ""
        body = self._body(ctx.node.id, overlay, index, path)
        await self._execute_body(body)
        return body.pool

    def _body(self, container_id: str, overlay: Mapping[str, Any], index: int, path: str) -> _ScopeRun:
        # A shallow copy: body nodes add their own namespaces without touching the outer scope's pool.
        pool = {**self.pool, **overlay}
        return _ScopeRun(self.state, self.state.graph.body(container_id), pool, container_id, index, path)

    async def _execute_body(self, body: _ScopeRun) -> None:
        try:
            await body.execute()
        finally:  # the run's totals have it already; this scope's body record must include it too
            if body.usage:
                self.usage += body.usage
            self.handled += body.handled

    async def _run_body_checkpointed(
        self,
        ctx: NodeContext,
        overlay: Mapping[str, Any],
        index: int,
        summarize: Summarize,
        unit: str,
        keep_failures: bool,
    ) -> dict[str, Any]:
        """``NodeContext.run_body_checkpointed``: restore body run ``index``, or run and checkpoint it."""
        container_id = ctx.node.id
        if self.state.store is None or container_id in self.state.graph.replayable_bodies:
            # Nothing to restore or record (running a replayable body again costs nothing): no digest.
            body = self._body(container_id, overlay, index, "")
            await self._execute_body(body)
            return summarize(body.pool)
        path = _bodies.body_record_id(self.path, container_id, index)
        input_digest = _bodies.digest(overlay)
        restored = _bodies.restorable(self.state.restored, path, input_digest)
        if restored is not None:
            return self._restore_body(container_id, index, restored)
        body = self._body(container_id, overlay, index, path)
        return await self._run_recorded_body(
            body, summarize, input_digest, f"{ctx.node.type}_{unit}", keep_failures
        )

    async def _run_recorded_body(
        self, body: _ScopeRun, summarize: Summarize, input_digest: str, record_type: str, keep_failures: bool
    ) -> dict[str, Any]:
        started_at = _now()
        try:
            await self._execute_body(body)
            summary = summarize(body.pool)
        except Exception as exc:
            error = error_dict(exc)
            await self._checkpoint_body(body, record_type, {}, input_digest, started_at, error, keep_failures)
            raise
        await self._checkpoint_body(body, record_type, summary, input_digest, started_at)
        return summary

    def _restore_body(self, container_id: str, index: int, record: NodeRecord) -> dict[str, Any]:
        state = self.state
        summary = _bodies.summary_of(record)
        state.emit(
            NodeRestored(
                run_id=state.run_id,
                node_id=record.node_id,
                status=record.status,
                outputs=state.redact(summary),
                parent_id=container_id,
                index=index,
            )
        )
        self._account(record.usage, _bodies.handled_failures(record))
        if record.status == "failed":
            raise BodyNodeError((record.error or {}).get("message") or "body run failed")
        return summary

    async def _checkpoint_body(
        self,
        body: _ScopeRun,
        record_type: str,
        summary: dict[str, Any],
        input_digest: str,
        started_at: datetime,
        error: dict[str, str] | None = None,
        failure_kept: bool = False,
    ) -> None:
        store = self.state.store
        assert store is not None
        record = _bodies.body_record(
            body.path,
            record_type,
            summary,
            input_digest,
            usage=body.usage,
            handled=body.handled,
            started_at=started_at,
            finished_at=_now(),
            error=error,
            failure_kept=failure_kept,
        )
        try:
            await store.checkpoint(self.state.run_id, record)
        except Exception as exc:  # as for a node: a run that cannot checkpoint cannot promise resume
            logger.exception("checkpoint of %s failed", record.node_id)
            raise _Abort("failed", type(exc).__name__, f"checkpoint failed: {exc}", body.parent_id) from exc
