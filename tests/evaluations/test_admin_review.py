"""The review in the Django admin, driven as a reviewer would with the test client: the queue, an item's
page (which takes the review lock), a verdict saved from the form, bulk actions, and approving the run."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from llmops.accounts.models import User, Workspace
from llmops.evaluations.models import Decision, EvaluationItem, EvaluationRun, ItemStatus, RunStatus
from tests.evaluations.factories import published_dataset
from tests.studio.factories import published_workflow

ITEMS = "/admin/evaluations/evaluationitem/"


def _run(workspace: Workspace) -> EvaluationRun:
    dataset = published_dataset(workspace=workspace, slug="greetings")
    workflow = published_workflow(workspace=workspace, slug="greet")
    run = EvaluationRun.objects.create(
        workspace=workspace, dataset=dataset, dataset_version=dataset.versions.get(), workflow=workflow,
        workflow_version=workflow.versions.get(), status=RunStatus.COMPLETED, total=2,
        evaluators=[{"name": "judge", "kind": "llm_judge", "config": {}}, {"name": "exact", "kind": "equals", "config": {}}],
    )  # fmt: skip
    judge_pass = {"evaluator": "judge", "kind": "llm_judge", "score": 1.0, "passed": True, "error": None}
    exact_fail = {"evaluator": "exact", "kind": "equals", "score": 0.0, "passed": False, "error": None}
    exact_pass = {**exact_fail, "score": 1.0, "passed": True}
    EvaluationItem.objects.create(
        run=run, item_id="a", position=0, inputs={"name": "Ada"}, expected="Hello Ada", output="Hello Ada",
        status=ItemStatus.SCORED, scores=[judge_pass, exact_pass], score=1.0, passed=True,
    )  # fmt: skip
    EvaluationItem.objects.create(
        run=run, item_id="b", position=1, inputs={"name": "Bob"}, expected="Hello Robert", output="Hello Bob",
        status=ItemStatus.SCORED, scores=[judge_pass, exact_fail], score=0.5, passed=False,
    )  # fmt: skip
    return run


def _reviewer(username: str) -> Client:
    user = User.objects.create_user(
        username=username, email=f"{username}@example.com", password="x", is_staff=True, is_superuser=True
    )
    client = Client()
    client.force_login(user)
    return client


def _form(item: EvaluationItem, **changes: Any) -> dict[str, Any]:
    return {
        "verdict": "",
        "human_score": "",
        "comment": "",
        "corrected_output": "",
        "assigned_to": "",
        **changes,
    }


@pytest.mark.django_db
def test_a_reviewer_works_through_the_queue_in_the_admin(workspace: Workspace) -> None:
    run = _run(workspace)
    alice, bob = _reviewer("alice"), _reviewer("bob")
    run_page = alice.get(f"/admin/evaluations/evaluationrun/{run.pk}/change/").content.decode()
    assert "<progress" in run_page and "judge and deterministic disagree" in run_page
    queue = alice.get(f"{ITEMS}?run__id__exact={run.pk}&queue=disagree").content.decode()
    assert "b#0" in queue and "a#0" not in queue
    item = EvaluationItem.objects.get(item_id="b")
    page = alice.get(f"{ITEMS}{item.pk}/change/").content.decode()
    assert "Hello Robert" in page and "Hello Bob" in page  # expected and output side by side
    assert EvaluationItem.objects.get(pk=item.pk).locked_by.username == "alice"  # type: ignore[union-attr]
    # another reviewer opening it is warned, and cannot save over alice's review
    assert "is reviewing this item" in bob.get(f"{ITEMS}{item.pk}/change/").content.decode()
    bob.post(f"{ITEMS}{item.pk}/change/", _form(item, verdict="pass"), follow=True)
    assert EvaluationItem.objects.get(pk=item.pk).verdict == ""
    saved = alice.post(
        f"{ITEMS}{item.pk}/change/", _form(item, verdict="fail", comment="wrong name"), follow=True
    )
    assert saved.status_code == 200
    reviewed = EvaluationItem.objects.get(pk=item.pk)
    assert reviewed.reviewed_by is not None and reviewed.reviewed_by.username == "alice"
    assert (reviewed.verdict, reviewed.comment) == ("fail", "wrong name")
    assert reviewed.locked_by is None
    # bulk: mark the other item passing, then approve the run
    other = EvaluationItem.objects.get(item_id="a")
    alice.post(ITEMS, {"action": "mark_pass", "_selected_action": [other.pk]}, follow=True)
    assert EvaluationItem.objects.get(pk=other.pk).verdict == "pass"
    alice.post(
        "/admin/evaluations/evaluationrun/", {"action": "approve", "_selected_action": [run.pk]}, follow=True
    )
    decided = EvaluationRun.objects.get(pk=run.pk)
    assert decided.decision == Decision.APPROVED and decided.decided_by.username == "alice"  # type: ignore[union-attr]
    # the judge passed both items, the reviewer failed one: raw agreement 0.5 on the run's page
    assert "0.5" in alice.get(f"/admin/evaluations/evaluationrun/{run.pk}/change/").content.decode()
