"""The launch form's estimate: a launch checked in full, answered with its item count and cost estimate (from the
target's recent runs), creating nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from llmops.accounts.models import User, Workspace
from llmops.evaluations.models import EvaluationRun
from llmops.runs.models import Run
from tests.conftest import client_for
from tests.evaluations.factories import published_dataset
from tests.evaluations.test_evaluation_runs import EVALUATORS
from tests.studio.factories import published_workflow

pytestmark = pytest.mark.django_db
URL = "/api/workspaces/acme/evaluation-runs/estimate/"


def test_the_estimate_counts_items_and_prices_them_from_recent_runs(
    workspace: Workspace, owner: User
) -> None:
    flow = published_workflow(workspace=workspace, slug="greet")
    published_dataset(workspace=workspace, slug="greetings")  # four items
    body = {"dataset": "greetings", "workflow": "greet", "evaluators": EVALUATORS, "repetitions": 3}
    first = client_for(owner).post(URL, body, format="json")
    assert first.status_code == 200 and first.json() == {
        "total": 12,
        "estimated_cost": None,
    }  # no history yet
    for cost in ("0.002", "0.004"):
        Run.objects.create(workspace=workspace, workflow=flow, workflow_version=flow.versions.get(),
                           status="succeeded", cost=Decimal(cost))  # fmt: skip
    answer = client_for(owner).post(URL, body, format="json").json()
    assert answer == {"total": 12, "estimated_cost": "0.036000"}  # 12 items at a mean of 0.003
    assert not EvaluationRun.objects.exists()


def test_a_bad_launch_is_refused_by_the_estimate_as_by_the_launch(workspace: Workspace, owner: User) -> None:
    published_workflow(workspace=workspace, slug="greet")
    published_dataset(workspace=workspace, slug="greetings")
    body = {"dataset": "greetings", "workflow": "greet", "evaluators": EVALUATORS, "repetitions": 0}
    response = client_for(owner).post(URL, body, format="json")
    assert response.status_code == 400 and "repetitions" in response.json()["error"]["fields"]
    assert not EvaluationRun.objects.exists()
