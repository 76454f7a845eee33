"""Typed run events. Each has a ``type`` discriminator and a JSON-compatible ``to_dict()`` for SSE/websocket.

Values shown in events have secrets already redacted by the executor.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from workflows._ports import NodeStatus, RunStatus, Usage


def _jsonable(value: Any) -> Any:
    if isinstance(value, Usage):
        return value.to_dict()
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class _Event:
    run_id: str
    at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible dict, ``type`` first."""
        data = {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}
        return {"type": data.pop("type"), **data}


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted(_Event):
    """A run began (``resumed`` when it continues from checkpoints)."""

    workflow: str
    inputs: dict[str, Any]
    resumed: bool = False
    type: Literal["run_started"] = "run_started"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeStarted(_Event):
    """A node began its first attempt. ``parent_id``/``index`` locate nodes inside containers."""

    node_id: str
    node_type: str
    title: str = ""
    parent_id: str | None = None
    index: int | None = None
    type: Literal["node_started"] = "node_started"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeFinished(_Event):
    """A node ended: succeeded, failed (with ``error`` type and message) or cancelled."""

    node_id: str
    node_type: str
    status: NodeStatus
    outputs: dict[str, Any]
    elapsed_ms: float
    usage: Usage = field(default_factory=Usage)
    error: dict[str, str] | None = None
    attempts: int = 1
    branch: str | None = None
    parent_id: str | None = None
    index: int | None = None
    type: Literal["node_finished"] = "node_finished"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeRetry(_Event):
    """An attempt failed and the node will run again after ``delay_seconds``."""

    node_id: str
    attempt: int
    error: dict[str, str]
    delay_seconds: float
    type: Literal["node_retry"] = "node_retry"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeRestored(_Event):
    """A resumed run took a node's result from the store instead of running it again.

    For a container's body run (an iteration item, a loop round) ``node_id`` is its body record id
    (``each#3``), ``parent_id`` the container and ``index`` the item or round; ``outputs`` what the container
    keeps of it.
    """

    node_id: str
    status: NodeStatus
    outputs: dict[str, Any]
    parent_id: str | None = None
    index: int | None = None
    type: Literal["node_restored"] = "node_restored"


@dataclass(frozen=True, slots=True, kw_only=True)
class TextChunk(_Event):
    """Streamed text. ``channel`` is ``answer`` for the user-facing reply of answer nodes, ``node`` for an llm
    node's raw tokens (shown on the node in the console)."""

    node_id: str
    text: str
    channel: Literal["answer", "node"] = "answer"
    type: Literal["text_chunk"] = "text_chunk"


@dataclass(frozen=True, slots=True, kw_only=True)
class IterationProgress(_Event):
    """An iteration finished item ``index`` (``completed`` of ``total`` done, ``failed`` of them failed)."""

    node_id: str
    index: int
    completed: int
    total: int
    failed: int = 0
    type: Literal["iteration_progress"] = "iteration_progress"


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopProgress(_Event):
    """A loop finished round ``index`` (0-based) of at most ``max_count``."""

    node_id: str
    index: int
    max_count: int
    type: Literal["loop_progress"] = "loop_progress"


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStep(_Event):
    """One step of an agent node: its ``thought`` and the ``tool`` it called with ``arguments``, then the tool's
    ``observation`` (``error`` when the call failed; the agent saw the error). The last step of an answer has
    no ``tool`` and carries the ``answer``."""

    node_id: str
    index: int
    thought: str = ""
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    observation: str | None = None
    error: bool = False
    answer: str | None = None
    type: Literal["agent_step"] = "agent_step"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFinished(_Event):
    """The run ended; ``usage`` totals every model call, ``steps`` counts node executions."""

    status: RunStatus
    outputs: dict[str, Any]
    elapsed_ms: float
    usage: Usage = field(default_factory=Usage)
    steps: int = 0
    error: dict[str, str] | None = None
    type: Literal["run_finished"] = "run_finished"


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorEvent(_Event):
    """A run-level error: a node failure that fails the run, a limit, a store failure."""

    error_type: str
    message: str
    node_id: str | None = None
    type: Literal["error"] = "error"


Event = (
    RunStarted
    | NodeStarted
    | NodeFinished
    | NodeRetry
    | NodeRestored
    | TextChunk
    | IterationProgress
    | LoopProgress
    | AgentStep
    | RunFinished
    | ErrorEvent
)
