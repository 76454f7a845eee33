"""Websocket consumer for one run's events: transport only (authenticate, check workspace, forward)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async

from llmops.accounts.consumers import CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED, refuse
from llmops.accounts.models import Membership
from llmops.accounts.websocket_access import WorkspaceAccessConsumer
from llmops.runs.models import Run
from llmops.runs.streaming import run_events


def _runs_workspace_for_member(user: Any, run_id: str) -> int | None:
    """The run's workspace id when ``user`` is a member of it, else None (outsiders learn nothing)."""
    workspace_id = Run.objects.filter(id=run_id).values_list("workspace_id", flat=True).first()
    if workspace_id is None or not Membership.objects.filter(user=user, workspace_id=workspace_id).exists():
        return None
    return int(workspace_id)


class RunEventsConsumer(WorkspaceAccessConsumer):
    """``/ws/runs/<id>/?after=<seq>``: the run's events from a cursor, then live, until it finishes (or the
    viewer loses access to its workspace)."""

    forwarder: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await refuse(self, CLOSE_UNAUTHENTICATED)
            return
        run_id = str(self.scope["url_route"]["kwargs"]["run_id"])
        workspace_id = await database_sync_to_async(_runs_workspace_for_member)(user, run_id)
        if workspace_id is None:
            await refuse(self, CLOSE_NOT_FOUND)
            return
        await self.access_grant(user_id=user.pk, workspace_id=workspace_id)
        await self.accept()
        after = _after(self.scope.get("query_string", b""))
        self.forwarder = asyncio.create_task(self._forward(run_id, after))

    async def _forward(self, run_id: str, after: int) -> None:
        async for event in run_events(run_id, after):
            # Keep-alive ticks (None) re-check too: an idle stream of a removed member closes as well.
            if not await self.access_still_allowed():
                await self.access_lost()
                return
            if event is not None:
                await self.send_json(event)
        await self.close(code=1000)

    async def access_lost(self) -> None:
        if self.forwarder is not None and self.forwarder is not asyncio.current_task():
            self.forwarder.cancel()
        await super().access_lost()

    async def disconnect(self, code: int) -> None:
        if self.forwarder is not None:
            self.forwarder.cancel()


def _after(query_string: bytes) -> int:
    raw = (parse_qs(query_string.decode("latin-1")).get("after") or ["0"])[0]  # any bytes: never a 500
    # ASCII digits that fit a bigint: "²".isdigit() is true, and int() then fails.
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else 0
