"""Live run events for SSE and websockets: the stored backlog after a cursor, then the live group.

The subscriber joins the run's group *before* reading the backlog (events are stored before they are
published), and skips any live event at or below its cursor: no gap, no duplicate, any cursor.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import close_old_connections

from llmops.core.errors import ValidationError
from llmops.runs.events import TERMINAL_EVENT, run_group
from llmops.runs.models import FINAL_STATUSES, Run, RunEvent

KEEPALIVE_SECONDS = 15.0


async def _backlog(run_id: str, after: int, upto: int | None = None) -> list[dict[str, Any]]:
    rows = RunEvent.objects.filter(run_id=run_id, seq__gt=after)
    if upto is not None:
        rows = rows.filter(seq__lt=upto)
    events = [row.data async for row in rows.order_by("seq")]
    await _release_connection()
    return events


async def _release_connection() -> None:
    # A stream lives for minutes; between reads it must not hold a database connection (with the web
    # server's pool, 20 watchers would otherwise starve every other request).
    await sync_to_async(close_old_connections)()


async def run_events(run_id: str, after: int = 0) -> AsyncIterator[dict[str, Any] | None]:
    """Yield the run's events after ``after`` until ``run_finished``; ``None`` marks a keep-alive tick."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(run_group(run_id), channel)
    try:
        cursor = after
        for event in await _backlog(run_id, cursor):
            yield event
            cursor = event["seq"]
            if event["type"] == TERMINAL_EVENT:
                return
        while True:
            try:
                message = await asyncio.wait_for(layer.receive(channel), timeout=KEEPALIVE_SECONDS)
            except TimeoutError:
                if await _ended_without_more(run_id, cursor):
                    return
                yield None
                continue
            event = message["event"]
            if event["seq"] <= cursor:
                continue
            # A live event past a gap (the channel layer dropped one): fill it from storage.
            for missed in await _backlog(run_id, cursor, upto=event["seq"]):
                yield missed
            yield event
            cursor = event["seq"]
            if event["type"] == TERMINAL_EVENT:
                return
    finally:
        await layer.group_discard(run_group(run_id), channel)


async def _ended_without_more(run_id: str, cursor: int) -> bool:
    finished = await Run.objects.filter(id=run_id, status__in=FINAL_STATUSES).aexists()
    ended = finished and not await RunEvent.objects.filter(run_id=run_id, seq__gt=cursor).aexists()
    await _release_connection()
    return ended


def sse_frame(event: dict[str, Any] | None) -> str:
    """One server-sent event; ``id`` is the cursor a reconnecting client sends back as ``Last-Event-ID``
    (``None``: a keep-alive ping the client ignores)."""
    if event is None:
        return "event: ping\ndata: {}\n\n"
    return f"id: {event['seq']}\nevent: {event['type']}\ndata: {json.dumps(event, default=str)}\n\n"


def event_cursor(raw: str | None) -> int:
    """The ``Last-Event-ID`` (or ``?after=``) cursor; 400 naming it when it is not an event number."""
    raw = raw or "0"
    if not raw.isdigit():
        raise ValidationError("Invalid cursor.", fields={"Last-Event-ID": ["Must be an event number."]})
    return int(raw)


async def sse_lines(run_id: str, after: int) -> AsyncIterator[str]:
    """The run's events after ``after`` as server-sent events, until ``run_finished``."""
    async for event in run_events(run_id, after):
        yield sse_frame(event)
