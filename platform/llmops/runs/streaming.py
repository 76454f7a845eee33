"""Live run events for SSE and websockets: the stored backlog after a cursor, then the live group.

The subscriber joins the run's group *before* reading the backlog (events are stored before they are
published), and skips any live event at or below its cursor: no gap, no duplicate, any cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import close_old_connections
from django.http import StreamingHttpResponse

from llmops.core.errors import ValidationError
from llmops.runs.events import PUBLISH_ERRORS, TERMINAL_EVENT, run_group
from llmops.runs.models import FINAL_STATUSES, Run, RunEvent

KEEPALIVE_SECONDS = 15.0
# How often storage is read while the channel layer is unreachable.
POLL_SECONDS = 0.5

T = TypeVar("T")
_END = object()


async def with_keepalive(
    produce: Callable[[Callable[[T], None]], Awaitable[None]], interval: float
) -> AsyncIterator[T | None]:
    """Run ``produce(emit)`` in a task of its own and yield what it emits as it comes, with ``None`` after every
    ``interval`` seconds without an item (a keep-alive tick for SSE). An exception of ``produce`` is raised
    here after the items emitted before it; closing the iterator (the client went away) cancels the task."""
    queue: asyncio.Queue[Any] = asyncio.Queue()

    async def run() -> None:
        try:
            await produce(queue.put_nowait)
        except BaseException as exc:
            queue.put_nowait(_Failed(exc))
            raise
        else:
            queue.put_nowait(_END)

    task = asyncio.ensure_future(run())
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), interval)
            except TimeoutError:
                yield None
                continue
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def from_list(items: list[T]) -> AsyncIterator[T]:
    """``items`` as an async iterator (for a stream whose content is already known)."""
    for item in items:
        yield item


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


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
    """Yield the run's events after ``after`` until ``run_finished``; ``None`` marks a keep-alive tick.

    While the channel layer (Redis) is unreachable the events are read from storage every
    ``POLL_SECONDS`` instead: slower, but a subscriber still sees every event once, in order."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    try:
        await layer.group_add(run_group(run_id), channel)
    except PUBLISH_ERRORS:
        async for polled in _polled_events(run_id, after):
            yield polled
        return
    cursor = after
    try:
        async for event in _live_events(layer, channel, run_id, after):
            yield event
            cursor = event["seq"] if event is not None else cursor
    except PUBLISH_ERRORS:
        async for polled in _polled_events(run_id, cursor):
            yield polled
    finally:
        with contextlib.suppress(*PUBLISH_ERRORS):
            await layer.group_discard(run_group(run_id), channel)


async def _polled_events(run_id: str, after: int) -> AsyncIterator[dict[str, Any] | None]:
    """The run's events read from storage until ``run_finished`` (the channel layer is unreachable)."""
    cursor, quiet = after, 0.0
    while True:
        events = await _backlog(run_id, cursor)
        for event in events:
            yield event
            cursor = event["seq"]
            if event["type"] == TERMINAL_EVENT:
                return
        if not events and await _ended_without_more(run_id, cursor):
            return
        quiet = 0.0 if events else quiet + POLL_SECONDS
        if quiet >= KEEPALIVE_SECONDS:
            quiet = 0.0
            yield None
        await asyncio.sleep(POLL_SECONDS)


async def _live_events(
    layer: Any, channel: str, run_id: str, after: int
) -> AsyncIterator[dict[str, Any] | None]:
    """The stored backlog after ``after``, then the group's live events (joined already) until the end."""
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


def sse_response(stream: AsyncIterator[str] | AsyncIterator[bytes]) -> StreamingHttpResponse:
    """``stream`` (server-sent event frames) as a streaming response that no cache or proxy holds back."""
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    # nginx buffers a proxied response unless told not to; the client would get the events in lumps.
    response["X-Accel-Buffering"] = "no"
    return response


def event_cursor(raw: str | None) -> int:
    """The ``Last-Event-ID`` (or ``?after=``) cursor; 400 naming it when it is not an event number."""
    raw = (raw or "0").strip()
    # ASCII digits only: str.isdigit() accepts "²", which int() then rejects.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise ValidationError("Invalid cursor.", fields={"Last-Event-ID": ["Must be an event number."]})
    return int(raw)


async def sse_lines(run_id: str, after: int) -> AsyncIterator[str]:
    """The run's events after ``after`` as server-sent events, until ``run_finished``."""
    async for event in run_events(run_id, after):
        yield sse_frame(event)
