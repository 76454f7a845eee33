"""Websocket consumer for one run's events: transport only (authenticate, check workspace, forward)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from llmops.accounts.consumers import CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from llmops.accounts.models import Membership
from llmops.runs.models import Run
from llmops.runs.streaming import run_events


def _member_of_runs_workspace(user: Any, run_id: str) -> bool:
    workspace_id = Run.objects.filter(id=run_id).values_list("workspace_id", flat=True).first()
    return (
        workspace_id is not None and Membership.objects.filter(user=user, workspace_id=workspace_id).exists()
    )


class RunEventsConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """``/ws/runs/<id>/?after=<seq>``: the run's events from a cursor, then live, until it finishes."""

    forwarder: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        run_id = str(self.scope["url_route"]["kwargs"]["run_id"])
        if not await database_sync_to_async(_member_of_runs_workspace)(user, run_id):
            await self.close(code=CLOSE_NOT_FOUND)
            return
        after = _after(self.scope.get("query_string", b""))
        self.forwarder = asyncio.create_task(self._forward(run_id, after))

    async def _forward(self, run_id: str, after: int) -> None:
        async for event in run_events(run_id, after):
            if event is not None:
                await self.send_json(event)
        await self.close(code=1000)

    async def disconnect(self, code: int) -> None:
        if self.forwarder is not None:
            self.forwarder.cancel()


def _after(query_string: bytes) -> int:
    raw = (parse_qs(query_string.decode()).get("after") or ["0"])[0]
    return int(raw) if raw.isdigit() else 0
