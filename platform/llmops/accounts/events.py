"""Typed payloads sent to workspace websocket groups (mirrored by a TypeScript union in the console), and the
internal channel-layer message that closes sockets whose access was taken away."""

from __future__ import annotations

from typing import Literal, TypedDict


class WorkspaceHello(TypedDict):
    """First message after a websocket connects."""

    type: Literal["hello"]
    workspace: str
    user: str
    role: str


class AccessRevoked(TypedDict):
    """Channel-layer message (never sent to a client): close the user's sockets that match.

    ``workspace_id`` None matches every workspace; ``credential`` None matches every token and session.
    """

    type: Literal["access.revoked"]
    workspace_id: int | None
    credential: str | None


def workspace_group(workspace_id: int) -> str:
    """The Channels group that carries a workspace's live events."""
    return f"workspace.{workspace_id}"


def user_group(user_id: int) -> str:
    """The Channels group of every open socket of one user (to close them when access is revoked)."""
    return f"user.{user_id}"
