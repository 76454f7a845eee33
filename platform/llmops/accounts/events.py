"""Typed payloads sent to workspace websocket groups (mirrored by a TypeScript union in the console)."""

from __future__ import annotations

from typing import Literal, TypedDict


class WorkspaceHello(TypedDict):
    """First message after a websocket connects."""

    type: Literal["hello"]
    workspace: str
    user: str
    role: str


def workspace_group(workspace_id: int) -> str:
    """The Channels group that carries a workspace's live events."""
    return f"workspace.{workspace_id}"
