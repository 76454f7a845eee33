"""Dated prices: calls are charged at the prices in effect when they are made and stored costs never change;
endpoints that kept the catalogue's list prices follow its changes, others keep theirs; an endpoint's own
override wins; the API and the admin manage them, with clear errors and staff-only catalogue writes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from llmops.accounts.models import Role, User, Workspace
from llmops.providers.gateway import PlatformModelGateway
from llmops.providers.models import CatalogModel, ModelEndpoint, PriceChange
from llmops.providers.price_changes import (
    price_book,
    price_book_forget,
    price_change_create,
    prices_in_effect,
)
from llmops.providers.schemas import Prices
from llmops.usage.models import UsageRecord
from tests.accounts.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.conftest import client_for
from tests.providers.factories import ModelEndpointFactory, endpoint_config
from tests.support.openai_test_server import OpenAITestServer, ok
from workflows import CallContext, ChatMessage, ChatRequest

URL = "/api/workspaces/acme/model-endpoints/"


@pytest.fixture(autouse=True)
def _no_cached_book() -> Any:
    price_book_forget()
    yield
    price_book_forget()


def _in(**delta: float) -> str:
    return (timezone.now() + timedelta(**delta)).isoformat()


@pytest.mark.django_db(transaction=True)
async def test_each_call_is_charged_at_the_prices_in_effect_and_stored_costs_never_change(
    provider: OpenAITestServer,
) -> None:
    ws = await sync_to_async(WorkspaceFactory.create)(slug="priced")
    endpoint = await sync_to_async(ModelEndpointFactory.create)(
        workspace=ws,
        slug="gpt",
        draft=endpoint_config(base_url=provider.url, prices={"input": 3, "output": 6}),
    )
    gateway = PlatformModelGateway(workspace=ws, source="api")
    request = ChatRequest(model="gpt", messages=(ChatMessage(role="user", content="hi"),),
                          context=CallContext("r", "n"))  # fmt: skip
    provider.script(ok("a", usage=(1000, 100)), ok("b", usage=(1000, 100)), ok("c", usage=(1000, 100)))
    await gateway.chat(request)
    # a price cut from now on, and a rise scheduled for tomorrow
    await sync_to_async(price_change_create)(data={"input": 1, "output": 2}, user=None, endpoint=endpoint)
    await sync_to_async(price_change_create)(
        data={"input": 9, "output": 9, "effective_from": _in(days=1)}, user=None, endpoint=endpoint
    )
    await gateway.chat(request)
    await gateway.chat(request)
    costs = [
        c
        async for c in UsageRecord.objects.filter(workspace=ws).order_by("id").values_list("cost", flat=True)
    ]
    assert costs == [
        Decimal("0.0036"),
        Decimal("0.0012"),
        Decimal("0.0012"),
    ]  # 1000*3+100*6, then 1000*1+100*2


@pytest.mark.django_db
def test_endpoints_on_the_list_price_follow_the_catalogue_and_others_keep_their_own(
    workspace: Workspace, owner: User
) -> None:
    entry = CatalogModel.objects.create(
        provider_kind="openai_compatible", model="qwen-max", input_price=Decimal("2.4"), output_price=Decimal("9.6"),
        currency="CNY",
    )  # fmt: skip
    client = client_for(owner)
    on_list = {"provider_kind": "openai_compatible", "model": "qwen-max", "base_url": "http://127.0.0.1:9/v1"}
    negotiated = {**on_list, "prices": {"input": 1, "output": 4, "currency": "CNY"}}
    for slug, draft in (("listed", on_list), ("negotiated", negotiated)):
        assert (
            client.post(URL, {"name": slug, "slug": slug, "draft": draft}, format="json").status_code == 201
        )
    price_change_create(data={"input": 2.0, "output": 8.0, "currency": "CNY", "effective_from": _in(hours=1)},
                        user=None, catalog_model=entry)  # fmt: skip

    def charged(slug: str, **delta: float) -> tuple[Prices, str]:
        endpoint = ModelEndpoint.objects.get(workspace=workspace, slug=slug)
        now = prices_in_effect(
            price_book(), endpoint_id=endpoint.pk, provider_kind="openai_compatible", model="qwen-max",
            version_prices=Prices(**endpoint.draft["prices"]), at=timezone.now() + timedelta(**delta),
        )  # fmt: skip
        return now.prices, now.source

    assert charged("listed") == (Prices(input=2.4, output=9.6, currency="CNY"), "version")  # not started yet
    assert charged("listed", hours=2) == (Prices(input=2.0, output=8.0, currency="CNY"), "catalogue")
    assert charged("negotiated", hours=2) == (Prices(input=1, output=4, currency="CNY"), "version")
    # an override on the endpoint wins over the catalogue
    listed = ModelEndpoint.objects.get(workspace=workspace, slug="listed")
    price_change_create(data={"input": 0.5, "output": 0.5, "currency": "CNY"}, user=None, endpoint=listed)
    assert charged("listed", hours=2) == (Prices(input=0.5, output=0.5, currency="CNY"), "endpoint")


@pytest.mark.django_db
def test_the_endpoint_prices_api_schedules_shows_and_withdraws_overrides(
    workspace: Workspace, owner: User
) -> None:
    client = client_for(owner)
    ModelEndpointFactory.create(workspace=workspace, slug="gpt")
    created = client.post(f"{URL}gpt/prices/", {"input": 0.5, "output": 1.5, "note": "合同价"}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["started"] is True and created.json()["created_by"] == "alice"
    later = client.post(f"{URL}gpt/prices/", {"input": 7, "effective_from": _in(days=30)}, format="json")
    assert later.status_code == 201 and later.json()["started"] is False
    # what a change leaves out keeps its value then (the override's 1.5 output), never a silent 0 or USD
    assert (later.json()["output"], later.json()["currency"]) == ("1.5000", "USD")
    shown = client.get(f"{URL}gpt/prices/").json()
    assert shown["origin"] == "endpoint" and shown["prices"]["input"] == 0.5
    assert [c["note"] for c in shown["changes"]] == ["合同价", ""]
    assert client.delete(f"{URL}gpt/prices/{created.json()['id']}/").status_code == 409  # it priced calls
    assert client.delete(f"{URL}gpt/prices/{later.json()['id']}/").status_code == 204
    assert PriceChange.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"input": 1, "effective_from": "2020-01-01T00:00:00Z"}, "effective_from"),
        ({"input": 1, "effective_from": "next tuesday"}, "effective_from"),
        ({"input": -1}, "input"),
        ({"output": "lots"}, "output"),
        ({"input": 1, "currency": "XYZ"}, "currency"),
        ({"input": 1, "currency": "dollars"}, "currency"),
        ({"input": 1, "colour": "red"}, "colour"),
        ({"note": "no prices"}, "input"),
        ({"input": 1, "note": "x" * 301}, "note"),
    ],
)
def test_bad_price_changes_are_refused_with_their_field_and_nothing_is_stored(
    workspace: Workspace, owner: User, body: dict[str, Any], field: str
) -> None:
    ModelEndpointFactory.create(workspace=workspace, slug="gpt")
    response = client_for(owner).post(f"{URL}gpt/prices/", body, format="json")
    assert response.status_code == 400 and field in response.json()["error"]["fields"], response.json()
    assert not PriceChange.objects.exists()


@pytest.mark.django_db
def test_two_changes_at_one_moment_conflict_and_roles_and_tenants_hold(
    workspace: Workspace, owner: User
) -> None:
    ModelEndpointFactory.create(workspace=workspace, slug="gpt")
    moment = _in(hours=3)
    client = client_for(owner)
    assert (
        client.post(f"{URL}gpt/prices/", {"input": 1, "effective_from": moment}, format="json").status_code
        == 201
    )
    assert (
        client.post(f"{URL}gpt/prices/", {"input": 2, "effective_from": moment}, format="json").status_code
        == 409
    )
    viewer = MembershipFactory.create(workspace=workspace, user=UserFactory.create(), role=Role.VIEWER).user
    assert client_for(viewer).get(f"{URL}gpt/prices/").status_code == 200
    assert client_for(viewer).post(f"{URL}gpt/prices/", {"input": 0}, format="json").status_code == 403
    stranger = MembershipFactory.create(workspace=WorkspaceFactory.create(slug="other"), role=Role.OWNER).user
    assert client_for(stranger).get(f"{URL}gpt/prices/").status_code in (403, 404)
    assert client_for(stranger).post(f"{URL}gpt/prices/", {"input": 0}, format="json").status_code in (
        403,
        404,
    )


@pytest.mark.django_db
def test_only_staff_change_the_catalogue_and_new_endpoints_start_from_its_current_price(
    workspace: Workspace, owner: User, admin_user: User
) -> None:
    entry = CatalogModel.objects.create(
        provider_kind="openai_compatible", model="glm-4", input_price=Decimal(5)
    )
    body = {"input": 1, "output": 1, "currency": "CNY"}
    assert (
        client_for(owner).post(f"/api/model-catalogue/{entry.pk}/prices/", body, format="json").status_code
        == 403
    )
    staff = client_for(admin_user)
    assert staff.post(f"/api/model-catalogue/{entry.pk}/prices/", body, format="json").status_code == 201
    listed = {row["model"]: row for row in client_for(owner).get("/api/model-catalogue/").json()}
    assert listed["glm-4"]["prices_now"] == {"input": 1.0, "output": 1.0, "currency": "CNY"}
    assert len(client_for(owner).get(f"/api/model-catalogue/{entry.pk}/prices/").json()) == 1
    draft = {"provider_kind": "openai_compatible", "model": "glm-4", "base_url": "http://127.0.0.1:9/v1"}
    made = client_for(owner).post(URL, {"name": "GLM", "slug": "glm", "draft": draft}, format="json").json()
    assert made["draft"]["prices"]["input"] == 1.0 and made["draft"]["prices"]["currency"] == "CNY"


@pytest.mark.django_db
def test_the_admin_adds_dated_prices_but_never_in_the_past(admin_client: Any) -> None:
    entry = CatalogModel.objects.create(
        provider_kind="openai_compatible", model="glm-4", input_price=Decimal(5)
    )
    page = admin_client.get(f"/admin/providers/catalogmodel/{entry.pk}/change/")
    assert page.status_code == 200 and b"price changes" in page.content.lower()

    def post(moment: str) -> Any:
        return admin_client.post(f"/admin/providers/catalogmodel/{entry.pk}/change/", {
            "provider_kind": "openai_compatible", "model": "glm-4", "model_type": "chat", "is_active": "on",
            "price_changes-TOTAL_FORMS": "1", "price_changes-INITIAL_FORMS": "0",
            "price_changes-0-effective_from_0": moment[:10], "price_changes-0-effective_from_1": moment[11:19],
            "price_changes-0-input_price": "1", "price_changes-0-output_price": "2", "price_changes-0-currency": "USD",
        })  # fmt: skip

    assert post("2020-01-01T00:00:00").status_code == 200  # the form again, with the error
    assert not PriceChange.objects.exists()
    negative = admin_client.post(f"/admin/providers/catalogmodel/{entry.pk}/change/", {
        "provider_kind": "openai_compatible", "model": "glm-4", "model_type": "chat", "is_active": "on",
        "price_changes-TOTAL_FORMS": "1", "price_changes-INITIAL_FORMS": "0",
        "price_changes-0-effective_from_0": "2030-01-01", "price_changes-0-effective_from_1": "00:00:00",
        "price_changes-0-input_price": "-1", "price_changes-0-output_price": "2", "price_changes-0-currency": "USD",
    })  # fmt: skip
    assert negative.status_code == 200 and b"Invalid prices" in negative.content
    assert not PriceChange.objects.exists()
    assert post((timezone.localtime() + timedelta(hours=1)).isoformat()).status_code == 302
    change = PriceChange.objects.get()
    assert change.catalog_model == entry and change.created_by is not None


@pytest.mark.django_db
def test_a_partial_catalogue_change_keeps_the_other_prices_and_currency(admin_user: User) -> None:
    entry = CatalogModel.objects.create(
        provider_kind="openai_compatible", model="qwen-max", input_price=Decimal("2.4"), output_price=Decimal("9.6"),
        currency="CNY",
    )  # fmt: skip
    made = client_for(admin_user).post(
        f"/api/model-catalogue/{entry.pk}/prices/", {"output": 8}, format="json"
    )
    assert made.status_code == 201, made.json()
    assert (made.json()["input"], made.json()["output"], made.json()["currency"]) == (
        "2.4000",
        "8.0000",
        "CNY",
    )


@pytest.mark.django_db
def test_one_out_of_range_row_written_around_the_checks_leaves_every_other_price_working(
    workspace: Workspace, owner: User
) -> None:
    endpoint = ModelEndpointFactory.create(workspace=workspace, slug="gpt")
    other = ModelEndpointFactory.create(workspace=workspace, slug="other")
    PriceChange.objects.create(
        endpoint=other, effective_from=timezone.now(), input_price=Decimal(-5), currency="usd"
    )
    price_change_create(data={"input": 0.5}, user=None, endpoint=endpoint)
    shown = client_for(owner).get(f"{URL}gpt/prices/")
    assert shown.status_code == 200 and shown.json()["prices"]["input"] == 0.5
    assert (
        client_for(owner).get(f"{URL}other/prices/").json()["origin"] == "version"
    )  # the bad row is skipped
