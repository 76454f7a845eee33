"""The asyncio executor: runs ready nodes concurrently, skips untaken branches, applies retry, timeout and
error strategies, enforces run limits, supports cancellation, and resumes from a RunStore's checkpoints.

Scheduling is dead-path elimination: a node becomes ready when every incoming edge is resolved; it runs when
at least one of them was taken, otherwise it is skipped and its own outgoing edges resolve as not taken.
Each top-level node is checkpointed before its successors start, so a new executor over the same store can
continue a run without running finished nodes again. Container bodies (iteration, loop) are nested scopes
run by the same scheduler; each finished body run (an item, a round) is checkpointed as a body record, so a
resumed container continues where it stopped, nested ones included (see ``workflows._scope``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from time import perf_counter
from typing import Any

from workflows._dsl import Workflow
from workflows._errors import WorkflowError
from workflows._events import ErrorEvent, Event, RunFinished, RunStarted
from workflows._graph import CompiledGraph
from workflows._ports import (
    CallContext,
    ChatMessage,
    NodeRecord,
    Ports,
    RunRecord,
    RunStatus,
    RunStore,
    Usage,
)
from workflows._scope import (
    BodyNodeError,
    NodeTimeoutError,
    RunLimits,
    _Abort,
    _now,
    _RunState,
    _ScopeRun,
    error_dict,
)
from workflows._validation import compile_workflow
from workflows._variables import ConversationState

logger = logging.getLogger("workflows.executor")
_END = object()


@dataclass(frozen=True, slots=True)
class RunResult:
    """The outcome of ``Executor.run_to_completion``."""

    run_id: str
    status: RunStatus
    outputs: dict[str, Any]
    error: dict[str, str] | None
    nodes: dict[str, NodeRecord]
    usage: Usage
    steps: int
    elapsed_ms: float
    events: list[Event] = field(default_factory=list)
    # The conversation variables as the run left them (None for a workflow that declares none).
    conversation: dict[str, Any] | None = None


class Executor:
    """Runs one compiled workflow; reusable across runs (one at a time per instance).

    ``async for event in executor.run(run_id, inputs)`` streams typed events; ``run_to_completion`` returns
    a ``RunResult``. With a ``store`` holding checkpoints for ``run_id``, finished nodes and finished
    iteration items / loop rounds are restored (a ``node_restored`` event each) and only the rest runs.
    """

    def __init__(
        self,
        workflow: Workflow | CompiledGraph | Mapping[str, Any] | str,
        *,
        ports: Ports | None = None,
        store: RunStore | None = None,
        limits: RunLimits | None = None,
    ) -> None:
        self.graph = workflow if isinstance(workflow, CompiledGraph) else compile_workflow(workflow)
        self.ports = ports or Ports()
        self.store = store
        self.limits = limits or RunLimits()
        self._state: _RunState | None = None
        self._cancel_requested = False
        self._last_records: dict[str, NodeRecord] = {}
        self._last_conversation: dict[str, Any] | None = None

    def cancel(self) -> None:
        """Cancel the current run: running nodes are cancelled and the run ends ``cancelled``."""
        self._cancel_requested = True
        if self._state is not None:
            self._state.abort(_Abort("cancelled", "Cancelled", "run was cancelled"))

    async def run(
        self,
        run_id: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        user_id: str | None = None,
        workspace_id: str | None = None,
        conversation_id: str | None = None,
        query: str | None = None,
        conversation: Mapping[str, Any] | None = None,
        history: Sequence[ChatMessage] = (),
        env: Mapping[str, Any] | None = None,
        dialogue_count: int = 0,
    ) -> AsyncIterator[Event]:
        """Execute (or resume) run ``run_id`` and yield its events as they happen.

        ``env`` overrides environment variable values (the platform passes decrypted secrets here);
        ``conversation`` (the stored conversation variables: missing ones get their declared default, ones no
        longer declared are dropped) and ``history`` carry chat state; ``query`` is the user message of a chat
        turn and ``dialogue_count`` (``sys.dialogue_count``) the number of turns before it. The final
        conversation variables come back on the final ``RunRecord`` and ``RunResult.conversation``.
        """
        if self._state is not None:
            raise RuntimeError("this executor is already running a run; create another Executor")
        state = _RunState(self, run_id, CallContext(run_id, "", user_id, workspace_id), tuple(history))
        self._state = state
        setup = _RunSetup(
            dict(inputs or {}),
            conversation_id,
            query,
            dict(conversation or {}),
            dict(env or {}),
            dialogue_count,
        )
        driver = asyncio.ensure_future(self._drive(state, setup))
        try:
            while (event := await state.queue.get()) is not _END:
                await self._deliver(event)
                yield event
            await driver
        finally:
            if not driver.done():
                driver.cancel()
                await asyncio.gather(driver, return_exceptions=True)
            self._state = None
            self._cancel_requested = False

    async def run_to_completion(
        self, run_id: str, inputs: Mapping[str, Any] | None = None, **options: Any
    ) -> RunResult:
        """Execute (or resume) a run and return its result, with every event it emitted."""
        events: list[Event] = [event async for event in self.run(run_id, inputs, **options)]
        finished = events[-1]
        assert isinstance(finished, RunFinished)
        nodes = self._last_records
        return RunResult(
            run_id,
            finished.status,
            finished.outputs,
            finished.error,
            nodes,
            finished.usage,
            finished.steps,
            finished.elapsed_ms,
            events,
            self._last_conversation,
        )

    async def _deliver(self, event: Event) -> None:
        sink = self.ports.events
        if sink is None:
            return
        try:
            await sink.emit(event)
        except Exception:  # delivery is best effort: a broken websocket must not fail the run
            logger.exception("event sink failed on %s", event.type)

    async def _drive(self, state: _RunState, setup: _RunSetup) -> None:
        started = perf_counter()
        loop = asyncio.get_running_loop()
        deadline = loop.call_later(
            self.limits.max_seconds,
            state.abort,
            _Abort("failed", "RunTimeout", f"run exceeded {self.limits.max_seconds:g}s of wall time"),
        )
        outcome = _Outcome()
        try:
            await self._execute(state, setup, outcome)
        except _Abort as abort:
            outcome.fail(abort.status, abort.error, abort.node_id)
        except WorkflowError as exc:  # invalid inputs: the caller's problem, no traceback in the logs
            outcome.fail("failed", error_dict(exc), None)
        except Exception as exc:
            logger.exception("run %s failed outside any node", state.run_id)
            outcome.fail("failed", error_dict(exc), None)
        finally:
            deadline.cancel()
        await self._finish(state, outcome, started)

    async def _execute(self, state: _RunState, setup: _RunSetup, outcome: _Outcome) -> None:
        previous = await self.store.load_run(state.run_id) if self.store else None
        state.restored = {r.node_id: r for r in await self.store.load(state.run_id)} if self.store else {}
        outcome.started_at = previous.started_at if previous and previous.started_at else _now()
        resumed = bool(state.restored) or previous is not None
        state.emit(
            RunStarted(
                run_id=state.run_id, workflow=self.graph.workflow.name, inputs=setup.inputs, resumed=resumed
            )
        )
        inputs = self.graph.workflow.validate_inputs(setup.inputs)
        self._seed_pool(state, setup, inputs, outcome.started_at)
        outcome.inputs = inputs
        if self.store:
            await self.store.save_run(
                RunRecord(state.run_id, "running", inputs, started_at=outcome.started_at)
            )
        top = _ScopeRun(state, self.graph.scopes[None], state.pool, None, None)
        if self._cancel_requested:
            state.abort(_Abort("cancelled", "Cancelled", "run was cancelled"))
        state.top_done = top.done
        if state.aborting is not None:  # cancelled (or timed out) before the graph started
            top.done.put_nowait(state.aborting)
        await top.execute()
        outcome.status = "partial_succeeded" if state.handled_failures else "succeeded"

    def _seed_pool(
        self, state: _RunState, setup: _RunSetup, inputs: dict[str, Any], started: datetime
    ) -> None:
        workflow = self.graph.workflow
        env = {v.name: v.value for v in workflow.environment} | setup.env
        state.secrets = tuple(str(env[n]) for n in self.graph.secret_names if env.get(n) not in (None, ""))
        declared = {v.name: v.default for v in workflow.conversation_variables}
        conversation = ConversationState(
            declared | {k: v for k, v in setup.conversation.items() if k in declared},
            {v.name: v.type for v in workflow.conversation_variables},
        )
        state.pool.update(
            sys={
                "run_id": state.run_id,
                "user_id": state.call.user_id,
                "workspace_id": state.call.workspace_id,
                "conversation_id": setup.conversation_id,
                "workflow": workflow.name,
                "time": started.isoformat(),
                "inputs": inputs,
                "query": setup.query,
                "dialogue_count": setup.dialogue_count,
            },
            env=env,
            conversation=conversation,
        )

    async def _finish(self, state: _RunState, outcome: _Outcome, started: float) -> None:
        outputs = dict(state.end_outputs)
        if state.answers:
            outputs["answer"] = "".join(state.answers)
        if outcome.error is not None:
            error = state.redact(outcome.error)
            state.emit(
                ErrorEvent(
                    run_id=state.run_id,
                    error_type=error["type"],
                    message=error["message"],
                    node_id=outcome.node_id,
                )
            )
        await self._save_final(state, outcome, outputs)
        self._last_records = dict(state.records)
        self._last_conversation = _final_conversation(state)
        state.emit(
            RunFinished(
                run_id=state.run_id,
                status=outcome.status,
                outputs=state.redact(outputs),
                elapsed_ms=(perf_counter() - started) * 1000,
                usage=state.usage,
                steps=state.steps,
                error=state.redact(outcome.error),
            )
        )
        state.queue.put_nowait(_END)

    async def _save_final(self, state: _RunState, outcome: _Outcome, outputs: dict[str, Any]) -> None:
        if self.store is None:
            return
        record = RunRecord(
            state.run_id,
            outcome.status,
            outcome.inputs,
            outputs,
            outcome.error,
            outcome.started_at,
            _now(),
            state.usage,
            _final_conversation(state),
        )
        try:
            await self.store.save_run(record)
        except Exception as exc:
            logger.exception("saving run %s failed", state.run_id)
            outcome.fail(
                "failed", {"type": type(exc).__name__, "message": f"saving the run failed: {exc}"}, None
            )


def _final_conversation(state: _RunState) -> dict[str, Any] | None:
    if not state.graph.workflow.conversation_variables:
        return None
    return dict(state.pool.get("conversation") or {})


@dataclass(slots=True)
class _RunSetup:
    inputs: dict[str, Any]
    conversation_id: str | None
    query: str | None
    conversation: dict[str, Any]
    env: dict[str, Any]
    dialogue_count: int = 0


@dataclass(slots=True)
class _Outcome:
    status: RunStatus = "failed"
    error: dict[str, str] | None = None
    node_id: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    started_at: datetime | None = None

    def fail(self, status: RunStatus, error: dict[str, str], node_id: str | None) -> None:
        self.status, self.error, self.node_id = status, error, node_id


__all__ = ["BodyNodeError", "Executor", "NodeTimeoutError", "RunLimits", "RunResult", "WorkflowError"]
