"""The workspace events websocket, against a real uvicorn server with the Redis channel layer."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from knox.models import AuthToken
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from llmops.accounts.events import workspace_group
from llmops.accounts.models import User, Workspace

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def _token(user: User) -> str:
    return AuthToken.objects.create(user)[1]


def _close_code(url: str, **kwargs: object) -> int | None:
    with connect(url, open_timeout=5, **kwargs) as ws, pytest.raises(ConnectionClosed) as closed:  # type: ignore[arg-type]
        ws.recv(timeout=5)
    return closed.value.rcvd.code if closed.value.rcvd else None


def test_member_receives_hello_and_workspace_events(
    asgi_server: str, owner: User, workspace: Workspace
) -> None:
    url = f"ws://{asgi_server}/ws/workspaces/acme/events/"
    with connect(url, additional_headers={"Authorization": f"Token {_token(owner)}"}, open_timeout=5) as ws:
        hello = json.loads(ws.recv(timeout=5))
        assert hello == {"type": "hello", "workspace": "acme", "user": "alice", "role": "owner"}
        # when the platform publishes an event to the workspace group
        event = {"type": "run_started", "run_id": "r1"}
        async_to_sync(get_channel_layer().group_send)(
            workspace_group(workspace.pk), {"type": "event.message", "event": event}
        )
        # then the member's socket receives it
        assert json.loads(ws.recv(timeout=5)) == event


def test_token_in_query_string_authenticates_browsers(asgi_server: str, owner: User) -> None:
    with connect(
        f"ws://{asgi_server}/ws/workspaces/acme/events/?token={_token(owner)}", open_timeout=5
    ) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"


def test_anonymous_socket_is_closed_as_unauthenticated(asgi_server: str, workspace: Workspace) -> None:
    assert _close_code(f"ws://{asgi_server}/ws/workspaces/acme/events/") == 4401


def test_invalid_token_is_closed_as_unauthenticated(asgi_server: str, workspace: Workspace) -> None:
    code = _close_code(f"ws://{asgi_server}/ws/workspaces/acme/events/?token=bogus")
    assert code == 4401


def test_outsider_cannot_join_another_workspace(
    asgi_server: str, outsider: User, workspace: Workspace
) -> None:
    code = _close_code(f"ws://{asgi_server}/ws/workspaces/acme/events/?token={_token(outsider)}")
    assert code == 4404


def test_cross_site_origin_is_refused(asgi_server: str, owner: User) -> None:
    from websockets.exceptions import InvalidStatus

    url = f"ws://{asgi_server}/ws/workspaces/acme/events/?token={_token(owner)}"
    with pytest.raises(InvalidStatus, match="403"):
        connect(url, origin="https://evil.example", open_timeout=5)  # type: ignore[arg-type]
