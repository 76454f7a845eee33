"""Websocket consumers: transport only (authenticate, join a scoped group, forward typed events)."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from llmops.accounts.events import WorkspaceHello, workspace_group
from llmops.accounts.selectors import membership_for_user
from llmops.accounts.websocket_access import WorkspaceAccessConsumer
from llmops.accounts.websocket_auth import AUTH_ERROR_SCOPE_KEY
from llmops.core.errors import NotFound

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404


async def refuse(consumer: Any, code: int) -> None:
    """Accept, then close with an application code (and the authentication error, if any, as the reason).

    A refused handshake is a bare HTTP 403 that tells a client nothing, while 4401/4404 say "authenticate" or
    "no such workspace".
    """
    await consumer.accept()
    await consumer.close(code=code, reason=consumer.scope.get(AUTH_ERROR_SCOPE_KEY))


class WorkspaceEventsConsumer(WorkspaceAccessConsumer):
    """``/ws/workspaces/<slug>/events/``: live events of one workspace for its members, until they are not."""

    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await refuse(self, CLOSE_UNAUTHENTICATED)
            return
        slug = self.scope["url_route"]["kwargs"]["workspace"]
        try:
            membership = await database_sync_to_async(membership_for_user)(user=user, workspace_slug=slug)
        except NotFound:
            await refuse(self, CLOSE_NOT_FOUND)
            return
        self.group = workspace_group(membership.workspace_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.access_grant(user_id=user.pk, workspace_id=membership.workspace_id)
        await self.accept()
        hello: WorkspaceHello = {
            "type": "hello",
            "workspace": slug,
            "user": user.username,
            "role": membership.role,
        }
        await self.send_json(hello)

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def event_message(self, message: dict[str, Any]) -> None:
        """Forward ``{"type": "event.message", "event": {...}}`` sent to the group, while access lasts."""
        if await self.access_still_allowed():
            await self.send_json(message["event"])
        else:
            await self.access_lost()
