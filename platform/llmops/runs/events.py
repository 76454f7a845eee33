"""Run events: typed payloads as sent over websocket/SSE, and their storage and fan-out.

Every event is stored (``RunEvent``, numbered from 1) *before* it is published to the run's channel
group. A subscriber therefore joins the group first and then reads the stored backlog: anything published
before it joined is already in the backlog, so it sees every event once, in order, from any cursor.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import Max

from llmops.runs.models import RunEvent

EventType = Literal[
    "run_started", "node_started", "node_finished", "node_retry", "node_restored", "text_chunk",
    "iteration_progress", "loop_progress", "run_finished", "error",
]  # fmt: skip
TERMINAL_EVENT = "run_finished"


class RunEventMessage(TypedDict):
    """What a subscriber receives: the engine event's fields plus ``seq`` (the resume cursor)."""

    seq: int
    type: EventType
    run_id: str


def run_group(run_id: str) -> str:
    """The Channels group carrying one run's events."""
    return f"run.{run_id}"


class RunEventWriter:
    """Numbers, stores and publishes the events of one run execution (numbering continues on resume)."""

    def __init__(self, run_id: str, next_seq: int) -> None:
        self.run_id = run_id
        self.seq = next_seq - 1
        self.layer = get_channel_layer()

    @classmethod
    async def for_run(cls, run_id: str) -> RunEventWriter:
        """A writer continuing after the run's last stored event."""
        last = await RunEvent.objects.filter(run_id=run_id).aaggregate(last=Max("seq"))
        return cls(run_id, (last["last"] or 0) + 1)

    async def write(self, event: dict[str, Any]) -> dict[str, Any]:
        """Store then publish one event (a JSON dict with ``type``); returns it with its ``seq``."""
        self.seq += 1
        message = {"seq": self.seq, **event}
        await RunEvent.objects.acreate(run_id=self.run_id, seq=self.seq, type=event["type"], data=message)
        if self.layer is not None:
            await self.layer.group_send(run_group(self.run_id), {"type": "run.event", "event": message})
        return message


def run_event_append(run_id: str, event: dict[str, Any]) -> None:
    """Store one event from synchronous code (e.g. the cancel of a queued run) and publish it on commit."""
    last = RunEvent.objects.filter(run_id=run_id).aggregate(last=Max("seq"))["last"] or 0
    message = {"seq": last + 1, "run_id": run_id, **event}
    RunEvent.objects.create(run_id=run_id, seq=last + 1, type=event["type"], data=message)
    layer = get_channel_layer()
    if layer is not None:
        send = async_to_sync(layer.group_send)
        transaction.on_commit(lambda: send(run_group(run_id), {"type": "run.event", "event": message}))
