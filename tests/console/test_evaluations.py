"""Evaluations in a real browser: a run scored on a Celery worker shows its progress and results; three items are
reviewed with the keyboard alone (pass, fail with a score, pass), and the run is approved."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from llmops.accounts.models import Role, Workspace
from llmops.evaluations.models import EvaluationItem
from tests.accounts.factories import WorkspaceFactory
from tests.conftest import client_for
from tests.console.conftest import screenshot, sign_in
from tests.console.test_browser import person
from tests.evaluations.factories import published_dataset
from tests.evaluations.test_evaluation_runs import EVALUATORS, wait_run
from tests.studio.factories import published_workflow

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture
def team(db: Any) -> Workspace:
    return WorkspaceFactory.create(slug="team", name="Team 团队")


def test_a_run_is_followed_reviewed_with_the_keyboard_and_approved(
    page: Any, asgi_server: str, celery_worker_process: subprocess.Popen[bytes], team: Workspace
) -> None:
    ann = person(team, "ann", Role.OWNER)
    published_workflow(workspace=team, slug="greet")
    published_dataset(workspace=team, slug="greetings")
    created = client_for(ann).post(
        "/api/workspaces/team/evaluation-runs/",
        {"name": "问候 v1", "dataset": "greetings", "workflow": "greet", "evaluators": EVALUATORS},
        format="json",
    )
    assert created.status_code == 201, created.json()
    run = wait_run(created.json()["id"])
    sign_in(page, asgi_server, "ann", "/w/team/evaluations")
    page.get_by_role("link", name="问候 v1").click()
    page.get_by_test_id("progress-text").get_by_text(f"{run.total} of {run.total} items").wait_for()
    page.get_by_text("Pass rate").wait_for()
    page.get_by_role("radiogroup").get_by_text("Review").click()  # the review view
    panel = page.get_by_test_id("review-panel")
    panel.get_by_text(f"1/{run.total}").wait_for()
    page.keyboard.press("p")
    panel.get_by_text(f"2/{run.total}").wait_for()
    page.keyboard.press("3")  # a score of 0.3 goes with the next verdict
    page.keyboard.press("f")
    panel.get_by_text(f"3/{run.total}").wait_for()
    page.keyboard.press("p")
    panel.get_by_text(f"4/{run.total}").wait_for()
    screenshot(page, "evaluation-review")
    reviewed = list(
        EvaluationItem.objects.filter(run=run).exclude(verdict="").order_by("position", "repetition")
        .values_list("verdict", "human_score", "reviewed_by__username")
    )  # fmt: skip
    assert reviewed == [("pass", None, "ann"), ("fail", 0.3, "ann"), ("pass", None, "ann")]
    page.get_by_role("button", name="Approve run").click()
    page.get_by_test_id("decision").get_by_text("approved").wait_for()
    run.refresh_from_db()
    assert run.decision == "approved" and run.decided_by == ann
