"""Workspace and run websockets against a real uvicorn server with the Redis channel layer: authentication
(header token, one-use tickets, no tokens in URLs) and sockets that lose their access."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from asgiref.testing import ApplicationCommunicator
from channels.layers import get_channel_layer
from knox.models import AuthToken
from rest_framework.test import APIClient
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from llmops.accounts.events import workspace_group
from llmops.accounts.models import Membership, User, Workspace
from llmops.runs.models import Run
from tests.conftest import client_for
from tests.studio.factories import published_workflow

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def _token(user: User) -> str:
    return str(AuthToken.objects.create(user)[1])


def _auth(token: str) -> dict[str, Any]:
    return {"additional_headers": {"Authorization": f"Token {token}"}, "open_timeout": 5}


def _ticket(client: APIClient) -> str:
    response = client.post("/api/ws-ticket/")
    assert response.status_code == 201, response.content
    return str(response.json()["ticket"])


def _until_closed(ws: ClientConnection, timeout: float = 5) -> tuple[list[dict[str, Any]], int | None]:
    """Messages received until the server closes the socket, and its close code."""
    received = []
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            received.append(json.loads(ws.recv(timeout=timeout)))
    return received, closed.value.rcvd.code if closed.value.rcvd else None


def _close_code(url: str, **kwargs: Any) -> int | None:
    with connect(url, **{"open_timeout": 5, **kwargs}) as ws:
        return _until_closed(ws)[1]


def _publish(workspace: Workspace, event: dict[str, Any]) -> None:
    async_to_sync(get_channel_layer().group_send)(
        workspace_group(workspace.pk), {"type": "event.message", "event": event}
    )


def test_member_receives_hello_and_workspace_events(
    asgi_server: str, owner: User, workspace: Workspace
) -> None:
    url = f"ws://{asgi_server}/ws/workspaces/acme/events/"
    with connect(url, **_auth(_token(owner))) as ws:
        hello = json.loads(ws.recv(timeout=5))
        assert hello == {"type": "hello", "workspace": "acme", "user": "alice", "role": "owner"}
        # when the platform publishes an event to the workspace group
        event = {"type": "run_started", "run_id": "r1"}
        _publish(workspace, event)
        # then the member's socket receives it
        assert json.loads(ws.recv(timeout=5)) == event


def test_a_ticket_opens_one_socket_once(asgi_server: str, owner: User) -> None:
    ticket = _ticket(client_for(owner))
    url = f"ws://{asgi_server}/ws/workspaces/acme/events/?ticket={ticket}"
    with connect(url, open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=5))["user"] == "alice"
    # the same ticket again (say, read from an access log) opens nothing
    assert _close_code(url) == 4401


def test_a_ticket_expires(asgi_server: str, owner: User, settings: Any) -> None:
    settings.WS_TICKET_SECONDS = 1
    response = client_for(owner).post("/api/ws-ticket/")
    assert response.json()["expires_in"] == 1
    time.sleep(1.5)
    assert (
        _close_code(f"ws://{asgi_server}/ws/workspaces/acme/events/?ticket={response.json()['ticket']}")
        == 4401
    )


def test_a_ticket_is_bound_to_the_user_who_minted_it(asgi_server: str, owner: User, outsider: User) -> None:
    # alice's ticket does not open charlie's workspace (it authenticates alice, who is not a member there)
    assert (
        _close_code(f"ws://{asgi_server}/ws/workspaces/other/events/?ticket={_ticket(client_for(owner))}")
        == 4404
    )
    with connect(
        f"ws://{asgi_server}/ws/workspaces/other/events/?ticket={_ticket(client_for(outsider))}"
    ) as ws:
        assert json.loads(ws.recv(timeout=5))["user"] == "charlie"


def test_a_ticket_dies_with_the_token_that_minted_it(asgi_server: str, owner: User) -> None:
    client = client_for(owner)
    ticket = _ticket(client)
    assert client.post("/api/auth/logout/").status_code == 204
    assert _close_code(f"ws://{asgi_server}/ws/workspaces/acme/events/?ticket={ticket}") == 4401


def test_the_console_session_mints_tickets(asgi_server: str, owner: User) -> None:
    client = APIClient()
    assert client.login(username="alice", password="pass-word-123")
    with connect(
        f"ws://{asgi_server}/ws/workspaces/acme/events/?ticket={_ticket(client)}", open_timeout=5
    ) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"


def test_anonymous_cannot_mint_a_ticket(workspace: Workspace) -> None:
    assert APIClient().post("/api/ws-ticket/").status_code == 401


def test_an_api_token_in_the_url_is_refused(asgi_server: str, owner: User) -> None:
    # a long-lived token in a URL ends up in access logs: it no longer opens a socket
    url = f"ws://{asgi_server}/ws/workspaces/acme/events/?token={_token(owner)}"
    with connect(url, open_timeout=5) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    assert "ticket" in closed.value.rcvd.reason


def test_anonymous_socket_is_closed_as_unauthenticated(asgi_server: str, workspace: Workspace) -> None:
    assert _close_code(f"ws://{asgi_server}/ws/workspaces/acme/events/") == 4401


@pytest.mark.parametrize("credential", ["?ticket=bogus", "?ticket=", "header"])
def test_invalid_credentials_are_closed_as_unauthenticated(
    credential: str, asgi_server: str, workspace: Workspace
) -> None:
    url = f"ws://{asgi_server}/ws/workspaces/acme/events/"
    if credential == "header":
        assert _close_code(url, additional_headers={"Authorization": "Token bogus"}) == 4401
    else:
        assert _close_code(url + credential) == 4401


def test_outsider_cannot_join_another_workspace(
    asgi_server: str, outsider: User, workspace: Workspace
) -> None:
    assert _close_code(f"ws://{asgi_server}/ws/workspaces/acme/events/", **_auth(_token(outsider))) == 4404


def test_cross_site_origin_is_refused(asgi_server: str, owner: User) -> None:
    url = f"ws://{asgi_server}/ws/workspaces/acme/events/?ticket={_ticket(client_for(owner))}"
    with pytest.raises(InvalidStatus, match="403"):
        connect(url, origin=Origin("https://evil.example"), open_timeout=5)


def test_a_removed_member_stops_receiving_and_is_closed(
    asgi_server: str, owner: User, member: User, workspace: Workspace
) -> None:
    with connect(f"ws://{asgi_server}/ws/workspaces/acme/events/", **_auth(_token(member))) as ws:
        assert json.loads(ws.recv(timeout=5))["user"] == "bob"
        # when the owner removes bob from the workspace
        bobs = Membership.objects.get(user=member, workspace=workspace)
        assert client_for(owner).delete(f"/api/workspaces/acme/members/{bobs.pk}/").status_code == 204
        _publish(workspace, {"type": "run_started", "run_id": "secret"})
        # then bob's socket is closed as revoked, with none of the workspace's later events
        received, code = _until_closed(ws)
    assert code == 4403 and received == []


def test_logout_closes_the_sockets_of_that_token_only(
    asgi_server: str, member: User, workspace: Workspace
) -> None:
    url = f"ws://{asgi_server}/ws/workspaces/acme/events/"
    revoked, kept = _token(member), _token(member)
    with connect(url, **_auth(revoked)) as a, connect(url, **_auth(kept)) as b:
        a.recv(timeout=5), b.recv(timeout=5)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {revoked}")
        assert client.post("/api/auth/logout/").status_code == 204
        assert _until_closed(a)[1] == 4403
        _publish(workspace, {"type": "run_started", "run_id": "r2"})
        assert json.loads(b.recv(timeout=5))["run_id"] == "r2"


def test_a_removed_member_watching_a_run_is_closed(
    asgi_server: str, owner: User, member: User, workspace: Workspace
) -> None:
    workflow = published_workflow(workspace=workspace)
    run = Run.objects.create(
        workspace=workspace, workflow=workflow, workflow_version=workflow.versions.get(), inputs={"name": "x"}
    )
    with connect(f"ws://{asgi_server}/ws/runs/{run.id}/", **_auth(_token(member))) as ws:
        bobs = Membership.objects.get(user=member, workspace=workspace)
        assert client_for(owner).delete(f"/api/workspaces/acme/members/{bobs.pk}/").status_code == 204
        assert _until_closed(ws) == ([], 4403)


@pytest.mark.parametrize("revocation", ["membership deleted", "token deleted", "user deactivated"])
async def test_a_socket_rechecks_its_access_before_forwarding(
    revocation: str, member: User, workspace: Workspace, settings: Any
) -> None:
    """Without the push message (revoked behind the services' back), the re-check before forwarding closes it."""
    from llmops.asgi import application

    settings.WS_ACCESS_RECHECK_SECONDS = 0
    instance, token = await sync_to_async(AuthToken.objects.create)(member)
    headers = [(b"authorization", f"Token {token}".encode())]
    # asgiref's communicator (channels.testing imports daphne, which the platform does not use)
    scope = {
        "type": "websocket",
        "path": "/ws/workspaces/acme/events/",
        "query_string": b"",
        "headers": headers,
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "websocket.connect"})
    assert (await communicator.receive_output(timeout=5))["type"] == "websocket.accept"
    assert json.loads((await communicator.receive_output(timeout=5))["text"])["user"] == "bob"
    if revocation == "membership deleted":
        await Membership.objects.filter(user=member).adelete()
    elif revocation == "token deleted":
        await instance.adelete()
    else:
        await User.objects.filter(pk=member.pk).aupdate(is_active=False)
    await get_channel_layer().group_send(
        workspace_group(workspace.pk), {"type": "event.message", "event": {"type": "run_started"}}
    )
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    await communicator.send_input({"type": "websocket.disconnect", "code": 4403})
    await communicator.wait(timeout=5)
