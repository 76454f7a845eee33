"""OpenAPI tool providers through the console API: import by paste and by URL, refusals with the reason,
authentication stored encrypted and sent with every call, test calls metered."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from django.db import connection

from llmops.accounts.models import User, Workspace
from llmops.tools.models import ToolCall, ToolProvider
from tests.conftest import client_for
from tests.tools.fake_api import FakeApi, pets_document

pytestmark = pytest.mark.django_db

PROVIDERS = "/api/workspaces/acme/tool-providers/"
IMPORT = PROVIDERS + "import-openapi/"


def _import(user: User, **body: Any) -> Any:
    return client_for(user).post(IMPORT, {"slug": "pets", "name": "Pets", **body}, format="json")


def test_a_pasted_json_document_becomes_a_provider_with_one_tool_per_operation(
    owner: User, fake_api: FakeApi
) -> None:
    response = _import(owner, document=json.dumps(pets_document(fake_api.url)))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "openapi" and body["base_url"] == fake_api.url
    tools = {t["name"]: t for t in body["tools"]}
    assert set(tools) == {"pets__getPet", "pets__addPet"}
    assert tools["pets__getPet"]["parameters"]["required"] == ["pet_id"]
    assert tools["pets__addPet"]["parameters"]["properties"]["body"]["required"] == ["name"]  # $ref inlined
    assert "document" not in body and "credentials" not in body


def test_a_pasted_yaml_document_and_a_json_object_are_accepted(owner: User, fake_api: FakeApi) -> None:
    assert _import(owner, document=yaml.safe_dump(pets_document(fake_api.url))).status_code == 201
    other = client_for(owner).post(
        IMPORT, {"slug": "pets2", "name": "Pets", "document": pets_document(fake_api.url)}, format="json"
    )
    assert other.status_code == 201, other.content


@pytest.mark.parametrize("path", ["/openapi.json", "/openapi.yaml"])
def test_a_document_is_imported_from_a_url_and_refreshed_from_it(
    owner: User, fake_api: FakeApi, path: str
) -> None:
    response = _import(owner, url=fake_api.url + path)
    assert response.status_code == 201, response.content
    assert response.json()["url"] == fake_api.url + path
    # when the API grows an operation, refresh reads it
    grown = pets_document(fake_api.url)
    grown["paths"]["/pets"]["get"] = {"operationId": "listPets", "summary": "Every pet."}
    fake_api.extra[path] = (200, "application/json", json.dumps(grown).encode())
    refreshed = client_for(owner).post(PROVIDERS + "pets/refresh/")
    assert refreshed.status_code == 200, refreshed.content
    assert "pets__listPets" in {t["name"] for t in refreshed.json()["tools"]}


def test_a_relative_server_is_resolved_against_the_document_url(owner: User, fake_api: FakeApi) -> None:
    document = {**pets_document(fake_api.url), "servers": [{"url": "/v1"}]}
    fake_api.extra["/doc.json"] = (200, "application/json", json.dumps(document).encode())
    response = _import(owner, url=fake_api.url + "/doc.json")
    assert response.status_code == 201, response.content
    assert response.json()["base_url"] == fake_api.url + "/v1"


def _fields(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    return dict(response.json()["error"]["fields"])


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ("{not json: [", "not YAML or JSON"),
        ("- just\n- a list\n", "not a JSON or YAML object"),
        (json.dumps({"swagger": "2.0", "paths": {}}), "not an OpenAPI 3 document"),
        (json.dumps({"openapi": "3.0.0", "paths": {"/a": {"get": {}}}}), "no servers"),
        (json.dumps({"openapi": "3.0.0", "servers": [{"url": "https://api.example.com"}], "paths": {}}),
         "no operations"),
        ("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "aliases are not allowed"),
        (json.dumps({"openapi": "3.0.0", "servers": [{"url": "https://api.example.com"}],
                     "paths": {"/a": {"get": {"parameters": ["oops"]}}}}), "malformed"),
    ],
)  # fmt: skip
def test_an_invalid_document_is_refused_with_the_reason_and_creates_nothing(
    owner: User, document: str, reason: str
) -> None:
    fields = _fields(_import(owner, document=document))
    assert reason in " ".join(fields["document"])
    assert ToolProvider.objects.count() == 0


@pytest.mark.parametrize(
    "server",
    ["http://127.0.0.1:9/api", "http://10.0.0.7/api", "http://169.254.169.254/latest", "http://localhost/"],
)
def test_a_document_whose_server_is_private_is_refused(owner: User, server: str) -> None:
    document = {**pets_document(server), "servers": [{"url": server}]}
    fields = _fields(_import(owner, document=json.dumps(document)))
    assert (
        "is not allowed" in fields["document"][0]
        and "LLMOPS_WORKFLOW_HTTP_ALLOWLIST" in fields["document"][0]
    )


def test_a_document_url_on_a_private_address_is_refused_without_fetching(owner: User) -> None:
    with FakeApi() as api:  # loopback, not admitted: the default allow-list is empty
        fields = _fields(_import(owner, url=api.url + "/openapi.json"))
        assert "LLMOPS_WORKFLOW_HTTP_ALLOWLIST" in fields["url"][0]
        assert api.seen == []


def test_a_document_too_large_is_refused(owner: User, fake_api: FakeApi) -> None:
    fields = _fields(_import(owner, url=fake_api.url + "/big.json"))
    assert "too large" in fields["url"][0]
    too_big = "openapi: 3.0.0\nx: " + "a" * (3 * 1024 * 1024)
    assert "bytes" in _fields(_import(owner, document=too_big))["document"][0]


def test_paste_or_url_is_required(owner: User) -> None:
    assert "document" in _fields(_import(owner))


def _bearer_provider(owner: User, fake_api: FakeApi) -> None:
    response = _import(
        owner,
        document=json.dumps(pets_document(fake_api.url)),
        auth={"type": "bearer"},
        credentials={"token": "tok-SECRET-123"},
    )
    assert response.status_code == 201, response.content


def test_credentials_are_encrypted_at_rest_and_never_returned(owner: User, fake_api: FakeApi) -> None:
    _bearer_provider(owner, fake_api)
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials::text FROM tools_toolprovider WHERE slug = 'pets'")
        stored = cursor.fetchone()[0]
    assert "tok-SECRET-123" not in stored and stored.startswith("fernet:")
    assert ToolProvider.objects.get(slug="pets").credentials == {"token": "tok-SECRET-123"}
    detail = client_for(owner).get(PROVIDERS + "pets/")
    assert detail.json()["credentials_set"] == ["token"] and detail.json()["auth"] == {"type": "bearer"}
    assert "tok-SECRET-123" not in detail.content.decode()
    assert "tok-SECRET-123" not in client_for(owner).get(PROVIDERS).content.decode()


@pytest.mark.parametrize(
    ("auth", "credentials", "where"),
    [
        ({"type": "bearer"}, {"token": "t0k"}, ("header", "authorization", "Bearer t0k")),
        ({"type": "api_key", "in": "header", "name": "X-Api-Key"}, {"api_key": "k3y"}, ("header", "x-api-key", "k3y")),
        ({"type": "api_key", "in": "query", "name": "key"}, {"api_key": "k3y"}, ("query", "key", ["k3y"])),
    ],
)  # fmt: skip
def test_a_test_call_sends_the_authentication_and_is_metered(
    owner: User, workspace: Workspace, fake_api: FakeApi, auth: dict[str, str], credentials: dict[str, str],
    where: tuple[str, str, Any],
) -> None:  # fmt: skip
    created = _import(
        owner, document=json.dumps(pets_document(fake_api.url)), auth=auth, credentials=credentials
    )
    assert created.status_code == 201, created.content
    response = client_for(owner).post(
        "/api/workspaces/acme/tools/pets__getPet/test/", {"arguments": {"pet_id": 7}}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["ok"] is True and response.json()["result"] == {"id": 7, "name": "Rex"}
    (call,) = fake_api.calls("/pets/7")
    kind, name, value = where
    assert (call.headers if kind == "header" else call.query).get(name) == value
    (metered,) = ToolCall.objects.all()
    assert (metered.tool, metered.provider_slug, metered.source, metered.status) == (
        "pets__getPet",
        "pets",
        "test",
        "ok",
    )
    assert metered.workspace == workspace and metered.output_chars == len('{"id": 7, "name": "Rex"}')


def test_a_call_whose_arguments_violate_the_schema_is_a_400_with_the_reason(
    owner: User, fake_api: FakeApi
) -> None:
    _bearer_provider(owner, fake_api)
    response = client_for(owner).post(
        "/api/workspaces/acme/tools/pets__getPet/test/", {"arguments": {"pet_id": "seven"}}, format="json"
    )
    assert "pet_id: 'seven' is not of type 'integer'" in _fields(response)["arguments"][0]
    assert fake_api.calls("/pets") == []


def test_a_server_that_became_private_is_refused_at_call_time(owner: User, fake_api: FakeApi) -> None:
    _bearer_provider(owner, fake_api)
    ToolProvider.objects.filter(slug="pets").update(base_url="http://10.1.2.3")  # e.g. a DNS change
    response = client_for(owner).post(
        "/api/workspaces/acme/tools/pets__getPet/test/", {"arguments": {"pet_id": 1}}, format="json"
    )
    body = response.json()
    assert response.status_code == 200 and body["ok"] is False
    assert "10.1.2.3" in body["error"]
    assert ToolCall.objects.get().status == "error"


def test_an_unknown_tool_is_a_404(owner: User) -> None:
    response = client_for(owner).post(
        "/api/workspaces/acme/tools/nope/test/", {"arguments": {}}, format="json"
    )
    assert response.status_code == 404


def test_an_update_changes_the_auth_and_a_new_document_replaces_the_tools(
    owner: User, fake_api: FakeApi
) -> None:
    _bearer_provider(owner, fake_api)
    change = {
        "auth": {"type": "api_key", "in": "query", "name": "key"},
        "credentials": {"api_key": "q-1", "token": ""},
    }
    patched = client_for(owner).patch(PROVIDERS + "pets/", change, format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["credentials_set"] == ["api_key"]
    client_for(owner).post(
        "/api/workspaces/acme/tools/pets__getPet/test/", {"arguments": {"pet_id": 3}}, format="json"
    )
    (call,) = fake_api.calls("/pets/3")
    assert call.query["key"] == ["q-1"] and "authorization" not in call.headers
    smaller = pets_document(fake_api.url)
    del smaller["paths"]["/pets"]
    replaced = client_for(owner).patch(PROVIDERS + "pets/", {"document": json.dumps(smaller)}, format="json")
    assert [t["name"] for t in replaced.json()["tools"]] == ["pets__getPet"]
    missing_key = client_for(owner).patch(
        PROVIDERS + "pets/", {"credentials": {"api_key": ""}}, format="json"
    )
    assert "credentials.api_key" in _fields(missing_key)


def test_an_unquoted_yaml_version_and_a_recursive_schema_are_accepted(owner: User, fake_api: FakeApi) -> None:
    document = pets_document(fake_api.url)
    document["components"]["schemas"]["Pet"]["properties"]["parent"] = {"$ref": "#/components/schemas/Pet"}
    text = yaml.safe_dump(document).replace("openapi: 3.0.3", "openapi: 3.1")
    response = _import(owner, document=text)
    assert response.status_code == 201, response.content
    pet: dict[str, Any] = {"name": "Rex"}
    for name in ("Max", "Ada", "Bo", "Cy", "Di", "Ed"):  # deeper than the inlined part of the schema
        pet = {"name": name, "parent": pet}
    called = client_for(owner).post(
        "/api/workspaces/acme/tools/pets__addPet/test/", {"arguments": {"body": pet}}, format="json"
    )
    assert called.status_code == 200 and called.json()["ok"] is True, called.content
    assert called.json()["result"] == {"created": pet}
