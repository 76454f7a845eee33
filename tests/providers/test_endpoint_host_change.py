"""Stored credentials stay with the host they were given for: moving an endpoint to another scheme, host or
port is an admin action that clears them (unless new ones come with it), through the API, restore and the
Django admin; a connection test after a move never sends the old key to the new host."""

from __future__ import annotations

from typing import Any

import pytest

from llmops.accounts.models import Role, User, Workspace
from llmops.providers.models import ModelEndpoint
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.conftest import client_for
from tests.providers.factories import ModelEndpointFactory, endpoint_config, publish
from tests.support.scripted_network import RecordingServer, recording_servers

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/workspaces/acme/model-endpoints/"
ADMINS_KEY = "sk-admins-key-0123456789abcdef"
ORIGINAL = "http://127.0.0.1:9/v1"


@pytest.fixture
def admin(workspace: Workspace) -> User:
    return MembershipFactory.create(
        workspace=workspace, user=UserFactory.create(username="dana"), role=Role.ADMIN
    ).user


def _endpoint(workspace: Workspace, kind: str = "openai_compatible", **config: Any) -> ModelEndpoint:
    return ModelEndpointFactory.create(
        workspace=workspace,
        slug="ep",
        draft=endpoint_config(provider_kind=kind, base_url=ORIGINAL, **config),
        credentials={"api_key": ADMINS_KEY},
    )


def _headers_seen(server: RecordingServer) -> list[str]:
    return [f"{s.headers.get('authorization', '')} {s.headers.get('x-api-key', '')}" for s in server.requests]


@pytest.mark.parametrize(
    "new_base_url",
    ["http://127.0.0.1:{port}/v1", "http://localhost:9/v1", "https://127.0.0.1:9/v1"],
    ids=["port", "host", "scheme"],
)
@pytest.mark.parametrize("kind", ["openai_compatible", "anthropic"])
def test_an_editor_cannot_point_the_admins_key_at_another_host(
    workspace: Workspace, member: User, kind: str, new_base_url: str
) -> None:
    # given an endpoint holding the admin's key, and a server of the editor's that records what reaches it
    _endpoint(workspace, kind)
    with recording_servers(RecordingServer()) as (attacker,):
        moved = new_base_url.format(port=attacker.port)
        client = client_for(member)
        # when the editor moves the endpoint there and presses "test"
        response = client.patch(
            f"{URL}ep/", {"draft": endpoint_config(provider_kind=kind, base_url=moved)}, format="json"
        )
        tested = client.post(f"{URL}ep/test/", {}, format="json")
    # then the move is refused with a reason, the endpoint is unchanged and the key went nowhere new
    assert response.status_code == 403, response.content
    assert "needs the admin role" in response.json()["error"]["message"]
    endpoint = ModelEndpoint.objects.get(slug="ep")
    assert endpoint.draft["base_url"] == ORIGINAL and endpoint.credentials == {"api_key": ADMINS_KEY}
    assert tested.status_code == 200 and attacker.requests == []


def test_an_editor_may_change_everything_but_the_host(workspace: Workspace, member: User) -> None:
    _endpoint(workspace)
    response = client_for(member).patch(
        f"{URL}ep/", {"draft": endpoint_config(base_url=ORIGINAL, model="other")}, format="json"
    )
    assert response.status_code == 200, response.content
    assert ModelEndpoint.objects.get(slug="ep").credentials == {"api_key": ADMINS_KEY}


@pytest.mark.parametrize("kind", ["openai_compatible", "anthropic"])
def test_a_host_change_by_an_admin_clears_the_key_so_the_new_host_never_sees_it(
    workspace: Workspace, admin: User, kind: str
) -> None:
    # given
    _endpoint(workspace, kind)
    with recording_servers(RecordingServer(status=401)) as (new_host,):
        client = client_for(admin)
        base_url = new_host.url if kind == "anthropic" else f"{new_host.url}/v1"
        # when an admin moves the endpoint without giving new credentials, then tests it
        response = client.patch(
            f"{URL}ep/", {"draft": endpoint_config(provider_kind=kind, base_url=base_url)}, format="json"
        )
        tested = client.post(f"{URL}ep/test/", {}, format="json")
    # then the credentials are gone, and the test reached the new host without the old key
    assert response.status_code == 200, response.content
    assert response.json()["has_credentials"] is False and response.json()["credentials_hint"] == ""
    assert ModelEndpoint.objects.get(slug="ep").credentials is None
    assert tested.status_code == 200 and tested.json()["ok"] is False
    if kind == "openai_compatible":  # a keyless kind calls anyway; Anthropic's SDK refuses to without a key
        assert new_host.requests
    assert all(ADMINS_KEY not in seen for seen in _headers_seen(new_host))


def test_a_host_change_with_new_credentials_keeps_the_new_ones(workspace: Workspace, owner: User) -> None:
    _endpoint(workspace)
    body = {
        "draft": endpoint_config(base_url="http://localhost:8080/v1"),
        "credentials": {"api_key": "sk-new"},
    }
    response = client_for(owner).patch(f"{URL}ep/", body, format="json")
    assert response.status_code == 200, response.content
    assert ModelEndpoint.objects.get(slug="ep").credentials == {"api_key": "sk-new"}


def test_restoring_a_version_on_another_host_is_an_admin_action_that_clears_the_key(
    workspace: Workspace, member: User, admin: User
) -> None:
    # given version 1 on a host the editor chose long ago; the admin's key was set for the current host
    endpoint = _endpoint(workspace)
    publish(endpoint, base_url="http://localhost:8080/v1")
    # when the editor restores it, then the admin does
    refused = client_for(member).post(f"{URL}ep/restore/", {"number": 1}, format="json")
    restored = client_for(admin).post(f"{URL}ep/restore/", {"number": 1}, format="json")
    # then
    assert refused.status_code == 403 and "needs the admin role" in refused.json()["error"]["message"]
    assert restored.status_code == 200, restored.content
    endpoint.refresh_from_db()
    assert endpoint.draft["base_url"] == "http://localhost:8080/v1" and endpoint.credentials is None


def test_a_host_change_in_the_django_admin_clears_the_key(
    workspace: Workspace, owner: User, admin_client: Any
) -> None:
    endpoint = _endpoint(workspace)
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(created_by=owner)
    page = f"/admin/providers/modelendpoint/{endpoint.pk}/change/"
    form = admin_client.get(page).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data["draft"] = (
        '{"provider_kind": "openai_compatible", "model": "m", "base_url": "http://localhost:1/v1"}'
    )
    data.update({f"{prefix}-{key}": value for prefix in ("versions", "labels", "price_changes") for key, value in
                 (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"))})  # fmt: skip
    response = admin_client.post(page, {k: v for k, v in data.items() if v is not None})
    assert response.status_code == 302, response.context["adminform"].form.errors
    endpoint.refresh_from_db()
    assert endpoint.draft["base_url"] == "http://localhost:1/v1" and endpoint.credentials is None


def test_a_version_on_another_host_is_called_without_the_key(workspace: Workspace, owner: User) -> None:
    # given the admin's key set for the provider's host, and version 1 on a host an editor chose before
    with recording_servers(RecordingServer(), RecordingServer()) as (provider, attacker):
        endpoint = ModelEndpointFactory.create(
            workspace=workspace, slug="ep", draft=endpoint_config(base_url=ORIGINAL)
        )
        publish(endpoint, base_url=f"{attacker.url}/v1")
        client = client_for(owner)
        body = {
            "draft": endpoint_config(base_url=f"{provider.url}/v1"),
            "credentials": {"api_key": ADMINS_KEY},
        }
        assert client.patch(f"{URL}ep/", body, format="json").status_code == 200
        assert client.post(f"{URL}ep/publish/", {}, format="json").status_code == 201
        # when both versions are tested (as a label pointing at either would call them)
        for number in ("1", "2"):
            client.post(f"{URL}ep/test/", {"version": number}, format="json")
    # then only the host the key was given for received it
    assert attacker.requests and all(ADMINS_KEY not in seen for seen in _headers_seen(attacker))
    assert provider.requests and all(ADMINS_KEY in seen for seen in _headers_seen(provider))
