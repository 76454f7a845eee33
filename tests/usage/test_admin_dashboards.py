"""The usage dashboards in the Django admin, driven with the test client as staff would: the overview, one
deployment's and one workflow's page, the JSON their script fetches, who may see them, and the vendored uPlot."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.staticfiles import finders
from django.test import Client

from llmops.accounts.models import Workspace
from llmops.deployments.models import Deployment
from llmops.runs.models import Run
from llmops.studio.models import Workflow
from llmops.usage.models import UsageRecord
from llmops.usage.rollups import usage_rollup
from tests.accounts.factories import UserFactory, WorkspaceFactory
from tests.deployments.factories import DeploymentFactory
from tests.support.chromium import FLAGS, INSTALL_HINT, chromium_path
from tests.usage.factories import UsageRecordFactory

pytestmark = pytest.mark.django_db
DASHBOARD = "/admin/usage/usagerollup/dashboard/"
DAY0 = datetime(2026, 11, 1, tzinfo=UTC)
RANGE = {"start": "2026-11-01", "end": "2026-11-02"}
VENDOR = "usage/vendor/uplot/"


@dataclass
class Ledger:
    support: Deployment  # 3 calls of gpt-4o-mini, one failed, through runs of its workflow
    search: Deployment  # 2 calls of qwen-max
    workflow: Workflow


@pytest.fixture
def ledger(workspace: Workspace) -> Ledger:
    support = DeploymentFactory.create(workspace=workspace, slug="support")
    search = DeploymentFactory.create(workspace=workspace, slug="search")
    workflow = support.workflow
    assert workflow is not None
    run = Run.objects.create(workspace=workspace, workflow=workflow, workflow_version=workflow.versions.get())
    calls = [
        (support, "gpt-4o-mini", "0.001", "ok", str(run.id)),
        (support, "gpt-4o-mini", "0.001", "ok", str(run.id)),
        (support, "gpt-4o-mini", "0.001", "error", str(run.id)),
        (search, "qwen-max", "0.02", "ok", ""),
        (search, "qwen-max", "0.02", "ok", ""),
    ]
    for hour, (deployment, model, cost, status, run_id) in enumerate(calls):
        row = UsageRecordFactory.create(
            workspace=workspace, deployment_id=str(deployment.pk), model_name=model, cost=Decimal(cost),
            status=status, run_id=run_id, end_user="<script>alert(1)</script>",
        )  # fmt: skip
        UsageRecord.objects.filter(pk=row.pk).update(created_at=DAY0 + timedelta(hours=hour))
    usage_rollup()
    return Ledger(support=support, search=search, workflow=workflow)


def _staff(username: str, *, superuser: bool = True, view_permission: bool = False) -> Client:
    user = UserFactory.create(username=username, is_staff=True, is_superuser=superuser)
    if view_permission:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="usage", codename="view_usagerollup")
        )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client() -> Client:
    return _staff("root")


def _config(page: str) -> dict[str, Any]:
    found = re.search(r'<script id="usage-dashboard-config" type="application/json">(.*?)</script>', page)
    assert found, "the page carries its script's config"
    config: dict[str, Any] = json.loads(found.group(1))
    return config


def _assert_dashboard_page(page: str) -> None:
    for asset in ("usage/dashboard.js", f"{VENDOR}uPlot.iife.min.js", f"{VENDOR}uPlot.min.css"):
        assert f"/static/{asset}" in page, asset
    assert 'id="usage-dashboard-charts"' in page


def test_the_overview_offers_every_workspace_and_draws_the_chosen_one(
    admin_client: Client, ledger: Ledger, workspace: Workspace
) -> None:
    WorkspaceFactory.create(slug="zeta", name="Zeta")
    response = admin_client.get(DASHBOARD, {"workspace": "acme", "range": "24h"})
    assert response.status_code == 200
    page = response.content.decode()
    _assert_dashboard_page(page)
    assert '<option value="acme" selected>' in page and '<option value="zeta">' in page
    data_url = urlsplit(_config(page)["dataUrl"])
    assert data_url.path == f"{DASHBOARD}data/acme/"
    params = parse_qs(data_url.query)
    assert params["granularity"] == ["hour"]  # the 24 h preset is hourly
    start, end = (datetime.fromisoformat(params[name][0]) for name in ("start", "end"))
    assert end - start == timedelta(hours=24)
    assert "group_by" not in params


def test_the_rollups_list_links_to_the_dashboard(admin_client: Client) -> None:
    page = admin_client.get("/admin/usage/usagerollup/").content.decode()
    assert f'href="{DASHBOARD}"' in page


def test_deployment_and_workflow_pages_show_their_own_usage_and_are_linked_from_their_admin_pages(
    admin_client: Client, ledger: Ledger
) -> None:
    pages = [
        (f"/admin/deployments/deployment/{ledger.support.pk}/change/",
         f"{DASHBOARD}deployment/{ledger.support.pk}/", "deployment", str(ledger.support.pk)),
        (f"/admin/studio/workflow/{ledger.workflow.pk}/change/",
         f"{DASHBOARD}workflow/{ledger.workflow.pk}/", "workflow", ledger.workflow.slug),
    ]  # fmt: skip
    for change_page, dashboard_page, group_by, key in pages:
        assert f'href="{dashboard_page}"' in admin_client.get(change_page).content.decode()
        response = admin_client.get(dashboard_page, {"range": "30d"})
        assert response.status_code == 200
        page = response.content.decode()
        _assert_dashboard_page(page)
        config = _config(page)
        params = parse_qs(urlsplit(config["dataUrl"]).query)
        assert (params["group_by"], params["key"], params["granularity"]) == ([group_by], [key], ["day"])
        assert config["key"] == key and config["showTop"] is False


def test_a_missing_deployment_or_workflow_page_is_404(admin_client: Client) -> None:
    assert admin_client.get(f"{DASHBOARD}deployment/999999/").status_code == 404
    assert admin_client.get(f"{DASHBOARD}workflow/999999/").status_code == 404


def test_the_json_totals_and_top_tables_match_the_ledger(admin_client: Client, ledger: Ledger) -> None:
    response = admin_client.get(f"{DASHBOARD}data/acme/", {**RANGE, "granularity": "hour"})
    assert response.status_code == 200
    view = response.json()
    assert view["currency"] == "USD"
    assert view["totals"]["requests"] == 5 and view["totals"]["errors"] == 1
    assert Decimal(view["totals"]["cost"]) == Decimal("0.043")
    assert [p["requests"] for p in view["series"][0]["points"]] == [1, 1, 1, 1, 1]
    deployments = view["top"]["deployment"]
    assert [(row["key"], row["requests"]) for row in deployments] == [
        (str(ledger.search.pk), 2),
        (str(ledger.support.pk), 3),
    ]
    assert view["labels"]["deployment"][str(ledger.support.pk)] == {
        "label": "support",
        "url": f"{DASHBOARD}deployment/{ledger.support.pk}/",
    }
    assert [row["key"] for row in view["top"]["model"]] == ["qwen-max", "gpt-4o-mini"]
    # the end user's id comes back as data, as sent (the page's script sets it as text)
    assert view["top"]["end_user"][0]["key"] == "<script>alert(1)</script>"


def test_the_json_of_one_deployment_and_one_workflow_counts_only_theirs(
    admin_client: Client, ledger: Ledger
) -> None:
    for group_by, key, requests, cost in [
        ("deployment", str(ledger.search.pk), 2, "0.04"),
        ("workflow", ledger.workflow.slug, 3, "0.003"),
    ]:
        response = admin_client.get(
            f"{DASHBOARD}data/acme/", {**RANGE, "group_by": group_by, "key": key, "with_top": "0"}
        )
        view = response.json()
        assert [s["key"] for s in view["series"]] == [key]
        totals = view["series"][0]["totals"]
        assert (totals["requests"], Decimal(totals["cost"])) == (requests, Decimal(cost)), group_by
        assert view["top"] == {}
        assert "runs" in view  # run figures come along where the rollups keep them (drawn when present)


def test_the_page_fetches_the_last_days_of_usage(admin_client: Client, workspace: Workspace) -> None:
    UsageRecordFactory.create(workspace=workspace, cost=Decimal("0.5"))
    config = _config(admin_client.get(DASHBOARD).content.decode())
    view = admin_client.get(config["dataUrl"]).json()
    assert view["granularity"] == "day"  # the default: 7 days by day
    assert view["totals"]["requests"] == 0  # not rolled up yet
    usage_rollup()
    view = admin_client.get(config["dataUrl"]).json()
    assert view["totals"]["requests"] == 1 and Decimal(view["totals"]["cost"]) == Decimal("0.5")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-11-02", "end": "2026-11-01"}, "end"),
        ({"start": "2024-01-01", "end": "2026-11-01", "granularity": "hour"}, "end"),
        ({"start": "yesterday", "end": "2026-11-01"}, "start"),
        ({"end": "2026-11-01"}, "start"),
        ({**RANGE, "group_by": "colour"}, "group_by"),
    ],
)
def test_a_bad_query_is_a_400_naming_the_field(
    admin_client: Client, workspace: Workspace, params: dict[str, str], field: str
) -> None:
    response = admin_client.get(f"{DASHBOARD}data/acme/", params)
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] and field in body["fields"], body


def test_an_unknown_workspace_is_404(admin_client: Client, workspace: Workspace) -> None:
    response = admin_client.get(f"{DASHBOARD}data/nope/", RANGE)
    assert response.status_code == 404
    assert response.json() == {"detail": "No such workspace."}


def _urls(ledger: Ledger) -> list[str]:
    return [
        DASHBOARD,
        f"{DASHBOARD}deployment/{ledger.support.pk}/",
        f"{DASHBOARD}workflow/{ledger.workflow.pk}/",
        f"{DASHBOARD}data/acme/?start=2026-11-01&end=2026-11-02",
    ]


def test_a_user_who_is_not_staff_is_sent_to_the_admin_login(ledger: Ledger) -> None:
    user = UserFactory.create(username="dana")
    client = Client()
    client.force_login(user)
    for url in _urls(ledger):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url
    assert Client().get(DASHBOARD).status_code == 302  # nor anyone signed out


def test_staff_need_the_view_permission_on_usage_rollups(ledger: Ledger) -> None:
    without = _staff("erin", superuser=False)
    with_permission = _staff("fay", superuser=False, view_permission=True)
    for url in _urls(ledger):
        assert without.get(url).status_code == 403, url
        assert with_permission.get(url).status_code == 200, url


def test_uplot_is_vendored_with_its_licence_and_served_locally(client: Client) -> None:
    for name in ("uPlot.iife.min.js", "uPlot.min.css", "LICENSE"):
        assert finders.find(f"{VENDOR}{name}"), name
    response = client.get(f"/static/{VENDOR}uPlot.iife.min.js")
    assert response.status_code == 200
    assert b"uPlot" in response.getvalue()
    assert finders.find("usage/dashboard.js") and finders.find("usage/dashboard.css")


@contextmanager
def _chromium() -> Iterator[Any]:
    """The system Chromium. Started after the test's ORM work: while Playwright's sync API runs, an event loop
    runs in this thread, and a connection opened then would outlive the test (and block dropping the test
    database)."""
    executable = chromium_path()
    if executable is None:
        pytest.fail(INSTALL_HINT)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        yield browser
        browser.close()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_browser_draws_the_charts_and_shows_keys_as_text(asgi_server: str) -> None:
    # given: usage this week, an end user whose id is markup, rolled up
    workspace = WorkspaceFactory.create(slug="acme", name="Acme")
    support = DeploymentFactory.create(workspace=workspace, slug="support")
    hostile = '<img src="x" onerror="window.__injected = 1">'
    for end_user in (hostile, "ann"):
        UsageRecordFactory.create(workspace=workspace, deployment_id=str(support.pk), end_user=end_user)
    usage_rollup()
    signed_in = Client()
    signed_in.force_login(UserFactory.create(username="root", is_staff=True, is_superuser=True))
    session = signed_in.cookies[settings.SESSION_COOKIE_NAME].value
    with _chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": f"http://{asgi_server}"}]
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        # when
        page.goto(f"http://{asgi_server}{DASHBOARD}")
        # then: totals, a canvas per chart (six of usage, two of runs), the top tables
        page.wait_for_selector(".usage-top")
        assert "Money in USD" in page.text_content("#usage-dashboard-status")
        assert page.locator(".usage-chart canvas").count() == 8
        link = page.locator(f'.usage-top a[href="{DASHBOARD}deployment/{support.pk}/"]')
        assert link.text_content() == "support"
        assert page.get_by_role("cell", name=hostile, exact=True).count() == 1  # the id, as text
        assert page.locator('img[src="x"]').count() == 0 and page.evaluate("window.__injected") is None
        # and one deployment's page draws its charts too
        link.click()
        page.wait_for_selector(".usage-chart canvas")
        assert "Usage of deployment support" in page.text_content("h1")
        assert page.locator(".usage-top").count() == 0
        context.close()
        assert errors == []
