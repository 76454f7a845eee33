"""The usage dashboards in a real browser: totals and charts drawn from the rollups, group-by deployment naming
the deployment by its slug, the CSV export, and a budget created (a bad cap refused on its field) with its bar."""

from __future__ import annotations

import csv
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from llmops.accounts.models import Role, Workspace
from llmops.usage.models import Budget, UsageRecord
from llmops.usage.rollups import usage_rollup
from tests.accounts.factories import WorkspaceFactory
from tests.console.conftest import screenshot, sign_in
from tests.console.test_browser import person
from tests.deployments.factories import deployment_of
from tests.studio.factories import published_workflow
from tests.usage.factories import UsageRecordFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture
def team(db: Any) -> Workspace:
    return WorkspaceFactory.create(slug="team", name="Team 团队")


def test_the_usage_page_charts_groups_exports_and_budgets(
    page: Any, asgi_server: str, team: Workspace
) -> None:
    # given: three calls of one deployment two days ago, and one priced in a currency without a rate
    person(team, "ann", Role.OWNER)
    deployment = deployment_of(published_workflow(workspace=team, slug="support"), slug="support-bot")
    for _ in range(3):
        UsageRecordFactory.create(
            workspace=team, cost=Decimal("1.25"), currency="USD", deployment_id=str(deployment.pk)
        )
    UsageRecordFactory.create(workspace=team, cost=Decimal("2"), currency="CNY", model_name="qwen-plus")
    UsageRecord.objects.filter(workspace=team).update(created_at=timezone.now() - timedelta(days=2))
    usage_rollup()

    # when: the page opens (7 days, daily, not grouped)
    sign_in(page, asgi_server, "ann", "/w/team/usage")
    page.get_by_role("heading", name="Usage and cost").wait_for()

    # then: the totals in the workspace currency, the CNY amount apart, and charts drawn
    page.get_by_test_id("total-cost").get_by_text("3.75 USD").wait_for()
    page.get_by_test_id("total-requests").get_by_text("4").wait_for()
    page.get_by_test_id("unconverted").get_by_text("+ 2.00 CNY").wait_for()
    page.get_by_test_id("chart-cost").locator("svg.recharts-surface path.recharts-curve").first.wait_for()
    page.get_by_test_id("top-model").get_by_text("qwen-plus").wait_for()
    page.get_by_test_id("top-deployment").get_by_text("support-bot").wait_for()

    # when: grouped by deployment
    page.get_by_role("combobox", name="Group by").click()
    page.get_by_role("option", name="Deployment", exact=True).click()

    # then: the deployment's slug names its line in the legend
    legend = page.get_by_test_id("chart-cost").locator(".recharts-legend-item-text")
    legend.get_by_text("support-bot").wait_for()
    screenshot(page, "usage")

    # when: the CSV is downloaded
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    path = Path(download_info.value.path())

    # then: one row per deployment and day, with the deployment's calls and cost
    rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    mine = [row for row in rows if row["key"] == str(deployment.pk)]
    assert len(mine) == 1
    assert mine[0]["requests"] == "3"
    assert Decimal(mine[0]["cost"]) == Decimal("3.75")
    assert mine[0]["currency"] == "USD"

    # when: a budget is created with a negative cap
    page.get_by_role("button", name="New budget").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("Monthly cap 月度上限")
    dialog.get_by_label("Cap").fill("-5")
    dialog.get_by_role("button", name="Save").click()

    # then: the API's error shows on the cap field, and nothing is created
    dialog.get_by_text("Ensure this value is greater than or equal to 0.000001.").wait_for()
    assert dialog.get_by_label("Cap").get_attribute("aria-invalid") == "true"
    assert not Budget.objects.filter(workspace=team).exists()

    # when: the cap is fixed
    dialog.get_by_label("Cap").fill("10")
    dialog.get_by_role("button", name="Save").click()

    # then: the budget's bar shows this month's spend against the cap (3.75 of 10)
    page.get_by_role("progressbar", name="Monthly cap 月度上限").wait_for()
    page.get_by_text("3.75 of 10.00 USD (37.5 %)").wait_for()
    assert page.get_by_test_id("threshold-mark").count() == 3
    screenshot(page, "usage-budgets")
