"""Run events: typed payloads as sent over websocket/SSE, and their storage and fan-out.

Every event is stored (``RunEvent``, numbered from 1) *before* it is published to the run's channel
group. A subscriber therefore joins the group first and then reads the stored backlog: anything published
before it joined is already in the backlog, so it sees every event once, in order, from any cursor.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any, Literal, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from llmops.runs.claimed_writes import claimed_insert
from llmops.runs.models import RunEvent

EventType = Literal[
    "run_started", "node_started", "node_finished", "node_retry", "node_restored", "text_chunk",
    "iteration_progress", "loop_progress", "agent_step", "run_finished", "error",
]  # fmt: skip
TERMINAL_EVENT = "run_finished"
# What a publish to an unreachable channel layer raises (redis-py's errors; OSError for refused sockets).
PUBLISH_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)
PUBLISH_PAUSE_SECONDS = 5.0

logger = logging.getLogger(__name__)


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

    def __init__(self, run_id: str, next_seq: int, *, claim: uuid.UUID | None = None) -> None:
        self.run_id = run_id
        self.seq = next_seq - 1
        self.layer = get_channel_layer()
        # A claimed execution's events land only while its claim owns the run (``ClaimLost`` otherwise).
        self.claim = claim
        self.publish_paused_until = 0.0

    @classmethod
    async def for_run(cls, run_id: str, *, claim: uuid.UUID | None = None) -> RunEventWriter:
        """A writer continuing after the run's last stored event."""
        last = await RunEvent.objects.filter(run_id=run_id).aaggregate(last=Max("seq"))
        return cls(run_id, (last["last"] or 0) + 1, claim=claim)

    async def write(self, event: dict[str, Any]) -> dict[str, Any]:
        """Store then publish one event (a JSON dict with ``type``); returns it with its ``seq``."""
        self.seq += 1
        message = {"seq": self.seq, **event}
        if self.claim is None:
            await RunEvent.objects.acreate(run_id=self.run_id, seq=self.seq, type=event["type"], data=message)
        else:
            values = {"seq": self.seq, "type": event["type"], "data": message, "created_at": timezone.now()}
            await claimed_insert(RunEvent, run_id=self.run_id, claim=self.claim, values=values)
        await self._publish(message)
        return message

    async def _publish(self, message: dict[str, Any]) -> None:
        # The event is stored already: a failed publish (Redis unreachable) must not fail a healthy run.
        # Subscribers fill gaps from storage and notice the end by polling it, so skipping is safe; after a
        # failure publishing pauses a few seconds instead of paying a connect timeout per event.
        if self.layer is None or time.monotonic() < self.publish_paused_until:
            return
        try:
            await self.layer.group_send(run_group(self.run_id), {"type": "run.event", "event": message})
        except PUBLISH_ERRORS as exc:
            self.publish_paused_until = time.monotonic() + PUBLISH_PAUSE_SECONDS
            logger.warning("run %s: event %s stored, not published (%s)", self.run_id, message["seq"], exc)


def run_event_append(run_id: str, event: dict[str, Any]) -> None:
    """Store one event from synchronous code (e.g. the cancel of a queued run) and publish it on commit."""
    last = RunEvent.objects.filter(run_id=run_id).aggregate(last=Max("seq"))["last"] or 0
    message = {"seq": last + 1, "run_id": run_id, **event}
    RunEvent.objects.create(run_id=run_id, seq=last + 1, type=event["type"], data=message)
    layer = get_channel_layer()
    if layer is not None:
        send = async_to_sync(layer.group_send)
        # robust: the event is stored; an unreachable Redis must not turn the caller's commit into an error.
        transaction.on_commit(
            lambda: send(run_group(run_id), {"type": "run.event", "event": message}), robust=True
        )
