"""Evaluations in a real browser: a run launched from the form (after its estimate) is scored on a Celery worker
while its progress shows; three items are reviewed with the keyboard alone (pass, fail with a score, pass), and
the run is approved."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from llmops.accounts.models import Role, Workspace
from llmops.evaluations.models import EvaluationItem, EvaluationRun, Evaluator, LabelGate
from llmops.runs.models import Run, RunStatus
from tests.accounts.factories import WorkspaceFactory
from tests.conftest import client_for
from tests.console.conftest import screenshot, sign_in
from tests.console.test_browser import person
from tests.evaluations.factories import published_dataset
from tests.evaluations.test_evaluation_runs import wait_run
from tests.studio.factories import published_workflow

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.timeout(300)]


def pick(page: Any, box: Any, option: str) -> None:
    """Choose ``option`` in a Mantine select or multi-select."""
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


@pytest.fixture
def team(db: Any) -> Workspace:
    return WorkspaceFactory.create(slug="team", name="Team 团队")


def test_a_run_is_followed_reviewed_with_the_keyboard_and_approved(
    page: Any, asgi_server: str, celery_worker_process: subprocess.Popen[bytes], team: Workspace
) -> None:
    ann = person(team, "ann", Role.OWNER)
    flow = published_workflow(workspace=team, slug="greet")
    published_dataset(workspace=team, slug="greetings")
    Evaluator.objects.create(workspace=team, name="exact", kind="equals", config={})
    Evaluator.objects.create(workspace=team, name="greets", kind="starts_with", config={"value": "Hello"})
    sign_in(page, asgi_server, "ann", "/w/team/evaluations")
    # launched from the form, with its estimate first
    page.get_by_role("button", name="Launch evaluation").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("greetings v1")
    pick(page, dialog.get_by_role("combobox", name="Dataset"), "greetings")
    pick(page, dialog.get_by_role("combobox", name="Target", exact=True), "greet")
    pick(page, dialog.get_by_label("Evaluators"), "exact")
    pick(page, dialog.get_by_label("Evaluators"), "greets")
    dialog.get_by_role("button", name="Estimate cost").click()
    dialog.get_by_test_id("estimate").get_by_text("4 items, estimated cost unknown").wait_for()
    assert not EvaluationRun.objects.exists()  # an estimate creates nothing
    dialog.get_by_role("button", name="Launch evaluation").click()
    page.wait_for_url("**/w/team/evaluations/*")
    run = wait_run(EvaluationRun.objects.get().pk)
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
    # the gates: production needs a pass rate of 0.9 (the approved run has 1.0), staging a mean score of 0.99
    LabelGate.objects.create(
        workspace=team, kind="workflow", workflow=flow, label="production", min_pass_rate=0.9
    )
    LabelGate.objects.create(
        workspace=team, kind="workflow", label="staging", min_pass_rate=0.5, min_score=0.99
    )
    page.goto(f"http://{asgi_server}/w/team/workflows/greet")
    page.get_by_role("button", name="Versions").click()
    row = page.get_by_test_id("version-1")
    row.get_by_role("button", name="Add a label").click()
    page.get_by_label("Label", exact=True).fill("staging")
    page.get_by_test_id("gate-hint").get_by_text("mean score of at least 0.99").wait_for()
    page.get_by_role("button", name="Save").last.click()
    page.get_by_text("needs an approved evaluation run of v1").wait_for()  # refused, with the gate's reason
    page.get_by_label("Label", exact=True).fill("production")
    page.get_by_test_id("gate-hint").get_by_text("pass rate of at least 0.9").wait_for()
    page.get_by_role("button", name="Save").last.click()
    row.get_by_text("production").wait_for()
    assert flow.labels.get(name="production").version.number == 1
    # a second run of the same target, side by side with the first
    again = client_for(ann).post(
        "/api/workspaces/team/evaluation-runs/",
        {
            "name": "greetings v1 again",
            "dataset": "greetings",
            "workflow": "greet",
            "evaluators": [{"name": "exact"}],
        },
        format="json",
    )
    wait_run(again.json()["id"])
    page.goto(f"http://{asgi_server}/w/team/evaluations/{again.json()['id']}")
    page.get_by_role("radiogroup").get_by_text("Compare").click()
    pick(page, page.get_by_role("combobox", name="Baseline run"), "greetings v1 (greet v1)")
    comparison = page.get_by_test_id("comparison")
    # "Hello Bob" passed on two evaluators' mean (0.5) and fails on exact match alone: one regression, shown first
    comparison.get_by_text("regressions: 1").wait_for()
    assert page.locator("tr[data-change]").count() == run.total
    assert page.locator("tr[data-change=regression]").inner_text().startswith("case-3#0")


def test_a_run_becomes_a_dataset_item_from_its_page(page: Any, asgi_server: str, team: Workspace) -> None:
    person(team, "ann", Role.OWNER)
    flow = published_workflow(workspace=team, slug="greet")
    dataset = published_dataset(workspace=team, slug="greetings")
    run = Run.objects.create(
        workspace=team, workflow=flow, workflow_version=flow.versions.get(), status=RunStatus.SUCCEEDED,
        inputs={"name": "李雷"}, outputs={"answer": "Hello 李雷"},
    )  # fmt: skip
    sign_in(page, asgi_server, "ann", f"/w/team/runs/{run.pk}")
    page.get_by_role("button", name="Add to dataset").click()
    pick(page, page.get_by_role("combobox", name="Dataset"), "greetings")
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_text("Added to greetings").wait_for()
    dataset.refresh_from_db()
    added = dataset.draft["items"][-1]
    assert added["inputs"] == {"name": "李雷"} and added.get("source_run_id") == str(run.pk)
