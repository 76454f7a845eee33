"""The model-endpoint API: the versioned-resource contract, validation, credentials, catalogue defaults."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from llmops.accounts.models import User, Workspace
from llmops.providers.models import CatalogModel, ModelEndpoint
from tests.api_contract import VersionedResourceAPIContract
from tests.conftest import client_for
from tests.providers.factories import ModelEndpointFactory, endpoint_config

pytestmark = pytest.mark.django_db

URL = "/api/workspaces/acme/model-endpoints/"
SECRET = "sk-test-0123456789abcdefWXYZ"


class TestModelEndpointAPI(VersionedResourceAPIContract):
    collection = "model-endpoints"

    def make(self, workspace: Workspace, user: User) -> Any:
        return ModelEndpointFactory.create(workspace=workspace, slug="sample", name="Sample", created_by=user)

    def create_body(self) -> dict[str, Any]:
        return {
            "name": "Created",
            "slug": "created",
            "draft": endpoint_config(),
            "credentials": {"api_key": SECRET},
        }

    def update_body(self) -> dict[str, Any]:
        return {"draft": endpoint_config(model="other-model")}


def _create(client: Any, **draft: Any) -> Any:
    body = {"name": "E", "slug": "e", "draft": endpoint_config(**draft), "credentials": {"api_key": SECRET}}
    return client.post(URL, body, format="json")


def test_credentials_are_encrypted_at_rest_and_never_returned(workspace: Workspace, owner: User) -> None:
    # given
    client = client_for(owner)
    # when
    created = _create(client)
    # then
    assert created.status_code == 201, created.content
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM providers_modelendpoint WHERE slug = 'e'")
        (stored,) = cursor.fetchone()
    assert stored.startswith("fernet:") and SECRET not in stored
    assert ModelEndpoint.objects.get(slug="e").credentials == {"api_key": SECRET}
    responses = [
        created,
        client.get(URL),
        client.get(f"{URL}e/"),
        client.patch(f"{URL}e/", {"description": "d"}, format="json"),
        client.post(f"{URL}e/publish/", {}, format="json"),
        client.get(f"{URL}e/versions/"),
    ]
    for response in responses:
        assert SECRET not in response.content.decode(), response.request["PATH_INFO"]
        assert "0123456789" not in response.content.decode()
    body = client.get(f"{URL}e/").json()
    assert body["has_credentials"] is True
    assert body["credentials_hint"] == "sk-...WXYZ"
    assert "credentials" not in body


def test_credentials_can_be_rotated_and_cleared_without_a_new_version(
    workspace: Workspace, owner: User
) -> None:
    client = client_for(owner)
    _create(client)
    rotated = client.patch(f"{URL}e/", {"credentials": {"api_key": "sk-rotated-key-9999"}}, format="json")
    assert rotated.json()["credentials_hint"] == "sk-...9999"
    cleared = client.patch(f"{URL}e/", {"credentials": None}, format="json")
    assert cleared.json()["has_credentials"] is False and cleared.json()["credentials_hint"] == ""
    assert ModelEndpoint.objects.get(slug="e").latest_version_number == 0


@pytest.mark.parametrize(
    ("draft", "field", "fragment"),
    [
        ({"provider_kind": "gemini-pro"}, "draft.provider_kind", "gemini-pro"),
        ({"base_url": "not a url"}, "draft.base_url", "http"),
        ({"base_url": "ftp://example.com/v1"}, "draft.base_url", "http"),
        ({"base_url": "http://10.1.2.3/v1"}, "draft.base_url", "private"),
        ({"base_url": "http://169.254.169.254/latest"}, "draft.base_url", "LLMOPS_OUTBOUND_ALLOWLIST"),
        ({"base_url": "http://[::ffff:192.168.0.1]/v1"}, "draft.base_url", "private"),
        ({"base_url": "http://metadata.google.internal/v1"}, "draft.base_url", "metadata"),
        ({"prices": {"input": -1}}, "draft.prices.input", "greater than or equal"),
        ({"prices": {"input": "cheap"}}, "draft.prices.input", "number"),
        ({"prices": {"currency": "dollars"}}, "draft.prices.currency", "pattern"),
        ({"model_type": "vision"}, "draft.model_type", "chat"),
        ({"rate_limit": {"concurrency": 0}}, "draft.rate_limit.concurrency", "greater"),
        ({"fallbacks": ["nope"]}, "draft.fallbacks.0", "nope"),
        ({"fallbacks": ["bad ref!"]}, "draft.fallbacks", "reference"),
        ({"surprise": 1}, "draft.surprise", "Extra"),
    ],
)
def test_bad_endpoint_configuration_is_refused_with_its_field_path_and_nothing_saved(
    workspace: Workspace, owner: User, draft: dict[str, Any], field: str, fragment: str
) -> None:
    response = _create(client_for(owner), **draft)
    assert response.status_code == 400, response.content
    fields = response.json()["error"]["fields"]
    assert field in fields, fields
    assert fragment.lower() in " ".join(fields[field]).lower()
    assert not ModelEndpoint.objects.filter(slug="e").exists()


def test_a_draft_without_a_base_url_needs_a_kind_with_a_public_default(
    workspace: Workspace, owner: User
) -> None:
    client = client_for(owner)
    assert _create(client, provider_kind="vllm", base_url="").json()["error"]["fields"] == {
        "draft.base_url": ["Required for provider kind 'vllm'."]
    }
    assert _create(client, provider_kind="deepseek", model="deepseek-chat", base_url="").status_code == 201


def test_loopback_is_refused_when_the_allowlist_is_empty(workspace: Workspace, owner: User) -> None:
    with override_settings(LLMOPS_OUTBOUND_ALLOWLIST=[]):
        response = _create(client_for(owner), base_url="http://127.0.0.1:8080/v1")
    assert response.status_code == 400
    assert "draft.base_url" in response.json()["error"]["fields"]


def test_an_allowlisted_private_network_is_accepted(workspace: Workspace, owner: User) -> None:
    with override_settings(LLMOPS_OUTBOUND_ALLOWLIST=["10.0.0.0/8"]):
        response = _create(client_for(owner), base_url="http://10.1.2.3:8000/v1")
    assert response.status_code == 201, response.content


def test_a_catalogue_model_fills_window_and_prices_the_draft_leaves_out(
    workspace: Workspace, owner: User
) -> None:
    draft = {"provider_kind": "openai", "model": "gpt-4o-mini", "prices": {"output": 0.5}}
    response = client_for(owner).post(URL, {"name": "Mini", "slug": "mini", "draft": draft}, format="json")
    assert response.status_code == 201, response.content
    stored = response.json()["draft"]
    assert stored["context_window"] == 128000 and stored["max_output_tokens"] == 16384
    assert stored["prices"] == {
        "input": 0.15, "output": 0.5, "cached_input": 0.075, "request": None, "currency": "USD",
    }  # fmt: skip
    assert stored["base_url"] == ""  # the kind's public default is used at call time


def test_a_catalogued_per_request_price_fills_the_draft_where_prices_carry_one(
    workspace: Workspace, owner: User
) -> None:
    # given: a reranker priced per 1,000 searches in the catalogue
    CatalogModel.objects.create(
        provider_kind="openai_compatible", model="rerank-v3.5", model_type="rerank", request_price=Decimal(2)
    )
    draft = {
        "provider_kind": "openai_compatible",
        "model": "rerank-v3.5",
        "base_url": "https://api.cohere.com/v2",
    }
    # when
    response = client_for(owner).post(URL, {"name": "Rerank", "slug": "rr", "draft": draft}, format="json")
    # then
    assert response.status_code == 201, response.content
    stored = response.json()["draft"]
    assert stored["model_type"] == "rerank"
    assert stored["prices"]["request"] == 2.0


def test_fallbacks_must_name_other_endpoints_of_the_workspace(workspace: Workspace, owner: User) -> None:
    client = client_for(owner)
    ModelEndpointFactory.create(workspace=workspace, slug="backup")
    assert _create(client, fallbacks=["backup", "backup@production", "backup:2"]).status_code == 201
    itself = client.patch(f"{URL}e/", {"draft": endpoint_config(fallbacks=["e"])}, format="json")
    assert itself.json()["error"]["fields"] == {
        "draft.fallbacks.0": ["An endpoint cannot fall back to itself."]
    }


def test_the_catalogue_lists_models_with_windows_and_prices(workspace: Workspace, owner: User) -> None:
    response = client_for(owner).get("/api/model-catalogue/?provider_kind=anthropic")
    assert response.status_code == 200
    models = {row["model"]: row for row in response.json()}
    assert models["claude-sonnet-4-0"]["context_window"] == 200000
    assert all(row["provider_kind"] == "anthropic" for row in response.json())


def test_admin_pages_never_show_credentials(workspace: Workspace, owner: User, admin_client: Any) -> None:
    endpoint = ModelEndpointFactory.create(
        workspace=workspace, credentials={"api_key": SECRET}, credentials_hint="sk-...WXYZ"
    )
    for url in [
        "/admin/providers/modelendpoint/",
        f"/admin/providers/modelendpoint/{endpoint.pk}/change/",
        "/admin/providers/catalogmodel/",
        "/admin/usage/usagerecord/",
    ]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert SECRET not in response.content.decode()
