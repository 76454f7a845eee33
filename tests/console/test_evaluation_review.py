"""Reviewing an evaluation run together, in a real browser: an owner assigns two items to a second reviewer from
the results table, reviews under "Not reviewed" (the view stays on the item it moved to while the list
refetches without the reviewed one) and so holds the next item's lock; the second reviewer signs in, finds the
two items under "Assigned to me", sees the one the owner holds shown as locked and not reviewable, and reviews
the other; the owner then shares the unreviewed rest evenly between the two. The run's items are made in the
database (no model is run: the review is what is tested)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from llmops.accounts.models import Membership, Role, Workspace
from llmops.evaluations.models import EvaluationItem, EvaluationRun, ItemStatus, RunStatus
from tests.accounts.factories import WorkspaceFactory
from tests.console.conftest import screenshot, sign_in
from tests.console.test_browser import person
from tests.evaluations.factories import published_dataset
from tests.studio.factories import published_workflow

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.timeout(300)]


def pick(page: Any, box: Any, option: str) -> None:
    """Choose ``option`` in a Mantine select or multi-select."""
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


def scored_run(workspace: Workspace, count: int) -> EvaluationRun:
    """A completed run of ``count`` scored items (case-1 ... case-<count>), every other one failed."""
    dataset = published_dataset(workspace=workspace, slug="greetings")
    flow = published_workflow(workspace=workspace, slug="greet")
    run = EvaluationRun.objects.create(
        workspace=workspace, name="greetings v1", dataset=dataset, dataset_version=dataset.versions.get(),
        workflow=flow, workflow_version=flow.versions.get(), status=RunStatus.COMPLETED, total=count,
        evaluators=[{"name": "exact", "kind": "equals", "config": {}, "weight": 1.0}],
    )  # fmt: skip
    EvaluationItem.objects.bulk_create(
        EvaluationItem(
            run=run, item_id=f"case-{n}", position=n, inputs={"name": f"n{n}"}, expected=f"Hello n{n}",
            output=f"Hello n{n}" if n % 2 else "Hi", status=ItemStatus.SCORED, score=float(n % 2), passed=bool(n % 2),
            scores=[{"evaluator": "exact", "kind": "equals", "score": float(n % 2), "passed": bool(n % 2), "error": None}],
        )
        for n in range(1, count + 1)
    )  # fmt: skip
    return run


def wait_for(check: Any, timeout: float = 10.0) -> None:
    """Poll ``check`` (a database read) until it holds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def test_items_assigned_to_a_reviewer_are_theirs_and_an_item_locked_by_another_is_not_reviewable(
    page: Any, asgi_server: str
) -> None:
    team = WorkspaceFactory.create(slug="team", name="Team 团队")
    ann = person(team, "ann", Role.OWNER)
    bob = person(team, "bob", Role.EDITOR)
    Membership.objects.filter(workspace=team, user=bob).update(can_review=True)
    run = scored_run(team, 6)
    items = {i.item_id: i for i in EvaluationItem.objects.filter(run=run)}
    sign_in(page, asgi_server, "ann", f"/w/team/evaluations/{run.pk}")
    table = page.get_by_test_id("results-table")
    table.get_by_text("case-6").wait_for()
    # ann assigns case-2 and case-3 to bob
    page.get_by_role("checkbox", name="Select item case-2").check()
    page.get_by_role("checkbox", name="Select item case-3").check()
    page.get_by_test_id("assign-bar").get_by_text("2 selected").wait_for()
    pick(page, page.get_by_role("combobox", name="Assign to"), "bob")
    page.get_by_role("button", name="Assign selected", exact=True).click()
    page.get_by_text("2 items assigned").wait_for()
    row = page.locator("[data-testid=result-row][data-item=case-2]")
    row.get_by_test_id("assignee").get_by_text("bob").wait_for()
    screenshot(page, "evaluation-results-assigned")
    assigned = EvaluationItem.objects.filter(run=run, assigned_to=bob).values_list("item_id", flat=True)
    assert sorted(assigned) == ["case-2", "case-3"]
    # ann reviews under "Not reviewed": after case-1 the view moves to case-2 and stays on it when the list
    # comes back without case-1 (it is then 1 of 5, not the item after it)
    pick(page, page.get_by_role("combobox", name="All items"), "Not reviewed")
    page.get_by_role("radiogroup").get_by_text("Review").click()
    panel = page.get_by_test_id("review-panel")
    panel.get_by_text("1/6").wait_for()
    page.keyboard.press("p")
    panel.get_by_text("1/5").wait_for()
    assert panel.get_attribute("data-item") == "case-2"
    wait_for(lambda: EvaluationItem.objects.filter(pk=items["case-2"].pk, locked_by=ann).exists())
    # bob signs in: his two items under "Assigned to me", case-2 locked by ann
    page.context.clear_cookies()
    sign_in(page, asgi_server, "bob", f"/w/team/evaluations/{run.pk}")
    table.get_by_text("case-6").wait_for()
    page.get_by_test_id("assign-bar").wait_for()  # a member granted review assigns too (as the server allows)
    pick(page, page.get_by_role("combobox", name="All items"), "Assigned to me")
    page.locator("[data-testid=results-table][data-rows='2']").wait_for()
    assert page.locator("[data-testid=result-row]").evaluate_all("rows => rows.map(r => r.dataset.item)") == [
        "case-2",
        "case-3",
    ]
    row.get_by_test_id("lock").get_by_text("Locked by ann until").wait_for()
    page.get_by_role("radiogroup").get_by_text("Review").click()
    panel.get_by_text("1/2").wait_for()
    assert panel.get_attribute("data-item") == "case-2"
    panel.get_by_test_id("lock-alert").get_by_text("Locked by ann until").wait_for()
    assert panel.get_by_role("button", name="Pass (p)").is_disabled()
    page.keyboard.press("p")  # refused by the view: nothing is sent
    screenshot(page, "evaluation-review-locked")
    page.keyboard.press("n")
    panel.get_by_text("2/2").wait_for()
    assert panel.get_attribute("data-item") == "case-3"
    panel.get_by_role("button", name="Pass (p)").wait_for(state="visible")
    assert panel.get_by_role("button", name="Pass (p)").is_enabled()
    page.keyboard.press("p")
    wait_for(lambda: EvaluationItem.objects.filter(pk=items["case-3"].pk, verdict="pass").exists())
    reviewed = dict(
        EvaluationItem.objects.filter(run=run)
        .exclude(verdict="")
        .values_list("item_id", "reviewed_by__username")
    )
    assert reviewed == {"case-1": "ann", "case-3": "bob"}  # case-2 stays ann's to review
    # ann shares what is still unreviewed evenly between the two of them, in runs of neighbouring items
    page.context.clear_cookies()
    sign_in(page, asgi_server, "ann", f"/w/team/evaluations/{run.pk}")
    table.get_by_text("case-6").wait_for()
    share = page.get_by_role("combobox", name="Share among")
    pick(page, share, "ann")
    pick(page, share, "bob")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Share 4 unreviewed evenly").click()
    page.get_by_text("4 items assigned").wait_for()
    shared = dict(
        EvaluationItem.objects.filter(run=run, verdict="").values_list("item_id", "assigned_to__username")
    )
    assert shared == {"case-2": "ann", "case-4": "ann", "case-5": "bob", "case-6": "bob"}
