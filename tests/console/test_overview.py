"""The workspace overview in a real browser: this month's spend against a budget, a deployment whose runs failed
in the last 24 hours, the recent runs, and an evaluation run waiting for its review decision."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from llmops.accounts.models import Role, Workspace
from llmops.evaluations.models import EvaluationRun
from llmops.runs.models import Run, RunStatus, Trigger
from llmops.usage.models import Budget, UsageRecord
from llmops.usage.rollups import usage_rollup
from llmops.usage.run_rollups import run_rollup
from tests.accounts.factories import WorkspaceFactory
from tests.console.conftest import screenshot, sign_in
from tests.console.test_browser import person
from tests.deployments.factories import deployment_of
from tests.evaluations.factories import published_dataset
from tests.studio.factories import published_workflow
from tests.usage.factories import UsageRecordFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture
def team(db: Any) -> Workspace:
    return WorkspaceFactory.create(slug="team", name="Team 团队")


def test_the_overview_shows_spend_budgets_failing_deployments_runs_and_reviews(
    page: Any, asgi_server: str, team: Workspace
) -> None:
    person(team, "ann", Role.OWNER)
    flow = published_workflow(workspace=team, slug="support")
    deployment = deployment_of(flow, slug="support-bot")
    now = timezone.now()
    for status in (RunStatus.FAILED, RunStatus.FAILED, RunStatus.SUCCEEDED):
        Run.objects.create(
            workspace=team, workflow=flow, workflow_version=flow.versions.get(), status=status, trigger=Trigger.API,
            deployment_id=deployment.pk, started_at=now - timedelta(minutes=5), finished_at=now,
        )  # fmt: skip
    for _ in range(3):
        UsageRecordFactory.create(
            workspace=team, cost=Decimal("1.25"), currency="USD", deployment_id=str(deployment.pk)
        )
    UsageRecord.objects.filter(workspace=team).update(created_at=now - timedelta(minutes=10))
    usage_rollup()
    run_rollup()
    Budget.objects.create(
        workspace=team, name="团队月度预算", scope="workspace", period="month", cap=Decimal(10)
    )
    dataset = published_dataset(workspace=team, slug="greetings")
    EvaluationRun.objects.create(
        workspace=team, name="greetings v1", dataset=dataset, dataset_version=dataset.versions.get(), workflow=flow,
        workflow_version=flow.versions.get(), status="completed",
    )  # fmt: skip
    sign_in(page, asgi_server, "ann", "/w/team/overview")
    page.get_by_role("heading", name="Overview").wait_for()
    page.get_by_test_id("month-spend").get_by_text("3.7500 USD").wait_for()
    page.get_by_text("团队月度预算").wait_for()
    page.get_by_role("progressbar", name="团队月度预算").wait_for()  # 3.75 of 10: a bar at 37.5 %
    page.get_by_role("link", name="support-bot").wait_for()
    page.get_by_text("2 of 3 runs failed").wait_for()
    page.get_by_text("greetings v1").wait_for()
    screenshot(page, "overview")
    page.get_by_role("link", name="support", exact=True).first.click()  # a recent run opens its page
    page.wait_for_url("**/w/team/runs/**")
