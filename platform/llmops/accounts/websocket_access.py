"""Sockets that lose their access: a websocket of a workspace stops and closes (code 4403) once its user is
removed from the workspace, deactivated, or the token or session it was opened with is revoked.

Two paths, because a channel-layer message can be dropped:

- push: services send ``access.revoked`` to the user's group on commit (member removed, workspace deleted,
  token logged out); the socket closes at once;
- pull: before forwarding an event, and every ``WS_ACCESS_RECHECK_SECONDS`` while idle, the socket re-checks
  (membership, active user, live credential) when its last check is older than that.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from llmops.accounts.events import AccessRevoked, user_group
from llmops.accounts.models import Membership
from llmops.accounts.websocket_auth import CREDENTIAL_SCOPE_KEY, credential_is_live

CLOSE_ACCESS_REVOKED = 4403

logger = logging.getLogger(__name__)


def socket_access_allowed(*, user_id: int, workspace_id: int, credential: str | None) -> bool:
    """Whether the user is still an active member of the workspace, signed in by ``credential``."""
    membership = (
        Membership.objects.select_related("user")
        .filter(user_id=user_id, workspace_id=workspace_id, user__is_active=True)
        .first()
    )
    return membership is not None and credential_is_live(user=membership.user, credential=credential)


@dataclass(frozen=True)
class SocketAccess:
    """Who a socket streams to, for which workspace, opened with which credential."""

    user_id: int
    workspace_id: int
    credential: str | None


class WorkspaceAccessConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Base of the workspace-scoped consumers: call :meth:`access_grant` once authorized in ``connect`` and
    :meth:`access_still_allowed` before forwarding; the watch ends by itself when the socket disconnects."""

    access: SocketAccess | None = None
    _checked_at: float = 0.0
    _watchdog: asyncio.Task[None] | None = None
    _user_group: str | None = None
    _closing = False

    async def access_grant(self, *, user_id: int, workspace_id: int) -> None:
        """Start watching this socket's access (join the user's group, start the idle re-check)."""
        self.access = SocketAccess(user_id, workspace_id, self.scope.get(CREDENTIAL_SCOPE_KEY))
        self._checked_at = time.monotonic()
        self._user_group = user_group(user_id)
        await self.channel_layer.group_add(self._user_group, self.channel_name)
        self._watchdog = asyncio.create_task(self._watch())

    async def access_still_allowed(self) -> bool:
        """Whether the socket may still stream (re-checked when the last check is older than the setting)."""
        if self.access is None:
            return False
        if time.monotonic() - self._checked_at < settings.WS_ACCESS_RECHECK_SECONDS:
            return True
        access = self.access
        allowed = await database_sync_to_async(socket_access_allowed)(
            user_id=access.user_id, workspace_id=access.workspace_id, credential=access.credential
        )
        if allowed:
            self._checked_at = time.monotonic()
        else:
            self.access = None
        return bool(allowed)

    async def _watch(self) -> None:
        while True:
            try:
                if not await self.access_still_allowed():
                    break
            except Exception:  # a database blip: keep the socket, check again next round
                logger.warning("websocket access re-check failed", exc_info=True)
            await asyncio.sleep(max(settings.WS_ACCESS_RECHECK_SECONDS, 1))
        await self.access_lost()

    async def access_revoked(self, message: AccessRevoked) -> None:
        """Channel-layer handler of ``access.revoked``: close when the message matches this socket."""
        access = self.access
        if access is None:
            return
        workspace_matches = message["workspace_id"] in (None, access.workspace_id)
        credential_matches = message["credential"] in (None, access.credential)
        if workspace_matches and credential_matches:
            self.access = None
            await self.access_lost()

    async def access_lost(self) -> None:
        """Stop streaming and close with 4403 (once); subclasses stop their own tasks first."""
        if not self._closing:
            self._closing = True
            await self.close(code=CLOSE_ACCESS_REVOKED)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        self.access = None
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self._user_group is not None:
            await self.channel_layer.group_discard(self._user_group, self.channel_name)
        await super().websocket_disconnect(message)
