"""Evaluation runs on a real Celery worker: results and aggregates, review, decision, the promotion gate,
comparison of two runs, exports, bad requests that create nothing, and tenant isolation."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import pytest
from rest_framework.test import APIClient

from llmops.accounts.models import Membership, Role, User, Workspace
from llmops.core import versioning
from llmops.evaluations.models import EvaluationItem, EvaluationRun, GateDecision, ItemStatus, RunStatus
from llmops.runs.models import Run, Trigger
from llmops.studio.models import Workflow
from tests.conftest import client_for
from tests.evaluations.factories import published_dataset
from tests.studio.factories import greeting_dsl, published_workflow

BASE = "/api/workspaces/acme/"
EVALUATORS = [
    {"name": "exact", "kind": "equals", "config": {}, "weight": 2},
    {"name": "greets", "kind": "starts_with", "config": {"value": "Hello"}},
    {"name": "short", "kind": "latency", "config": {"max": 60000}},
]


def wait_run(run_id: int, timeout: float = 60) -> EvaluationRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = EvaluationRun.objects.get(pk=run_id)
        if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
            return run
        time.sleep(0.1)
    raise AssertionError(f"evaluation run {run_id} is still {EvaluationRun.objects.get(pk=run_id).status}")


@pytest.fixture
def target(workspace: Workspace) -> Workflow:
    return published_workflow(workspace=workspace, slug="greet")


def start(client: APIClient, **overrides: Any) -> Any:
    body = {
        "dataset": "greetings",
        "workflow": "greet",
        "evaluators": EVALUATORS,
        "pass_threshold": 0.8,
        **overrides,
    }
    return client.post(f"{BASE}evaluation-runs/", body, format="json")


@pytest.mark.django_db(transaction=True)
def test_a_run_scores_every_item_on_the_worker_and_summarises(
    celery_worker_process: subprocess.Popen[bytes], workspace: Workspace, owner: User, target: Workflow
) -> None:
    published_dataset(workspace=workspace, slug="greetings")
    response = start(client_for(owner), repetitions=2)
    assert response.status_code == 201, response.json()
    run = wait_run(response.json()["id"])
    assert run.status == RunStatus.COMPLETED and run.total == 8
    items = EvaluationItem.objects.filter(run=run)
    assert {i.status for i in items} == {ItemStatus.SCORED}
    bob = items.get(item_id="case-3", repetition=0)
    assert bob.output == "Hello Bob" and bob.passed is False
    assert [s["evaluator"] for s in bob.scores] == ["exact", "greets", "short"]
    assert bob.score == pytest.approx((0 * 2 + 1 + 1) / 4)
    # the trace: each item's target run was stored as an evaluation run of the pinned version
    target_run = Run.objects.get(pk=str(bob.target_run_id))
    assert target_run.trigger == Trigger.EVALUATION and target_run.inputs == {"name": "Bob"}
    summary = client_for(owner).get(f"{BASE}evaluation-runs/{run.pk}/summary/").json()
    assert summary["done"] == summary["total"] == 8 and summary["pass_rate"] == 0.75
    assert summary["evaluators"]["exact"]["pass_rate"] == 0.75 and summary["latency_p95_ms"] is not None
    exported = client_for(owner).get(f"{BASE}evaluation-runs/{run.pk}/export/?as=jsonl").content.decode()
    rows = [json.loads(line) for line in exported.splitlines()]
    assert len(rows) == 8 and {r["output"] for r in rows} >= {"Hello 李雷"}


@pytest.mark.django_db(transaction=True)
def test_review_decision_and_the_promotion_gate(
    celery_worker_process: subprocess.Popen[bytes], workspace: Workspace, owner: User, member: User,
    target: Workflow,
) -> None:  # fmt: skip
    published_dataset(workspace=workspace, slug="greetings")
    client = client_for(owner)
    gate = client.post(
        f"{BASE}label-gates/",
        {"workflow": "greet", "label": "production", "min_pass_rate": 0.7},
        format="json",
    )
    assert gate.status_code == 201, gate.json()
    # blocked: no approved evaluation of v1 yet
    moved = client.put(f"{BASE}workflows/greet/labels/", {"name": "production", "version": 1}, format="json")
    assert moved.status_code == 409 and "approved evaluation run of v1" in moved.json()["error"]["message"]
    run = wait_run(start(client).json()["id"])
    # an editor cannot review; the owner can, and another reviewer's lock is respected
    failed = client.get(f"{BASE}evaluation-runs/{run.pk}/items/?filter=failed").json()
    assert [i["item_id"] for i in failed] == ["case-3"]
    item_url = f"{BASE}evaluation-runs/{run.pk}/items/{failed[0]['id']}/"
    assert (
        client_for(member).post(item_url + "review/", {"verdict": "fail"}, format="json").status_code == 403
    )
    assign = f"{BASE}evaluation-runs/{run.pk}/assign/"
    refused = client.post(assign, {"items": [failed[0]["id"]], "reviewer": member.username}, format="json")
    assert refused.status_code == 400 and "Not a reviewer" in refused.json()["error"]["fields"]["reviewer"][0]
    assert client_for(member).get("/api/workspaces/").json()[0]["can_review"] is False
    Membership.objects.filter(user=member).update(can_review=True)
    assert client_for(member).get("/api/workspaces/").json()[0]["can_review"] is True
    assigned = client.post(assign, {"items": [failed[0]["id"]], "reviewer": member.username}, format="json")
    assert assigned.status_code == 200 and assigned.json() == {"assigned": 1}
    assert client_for(member).post(item_url + "lock/").status_code == 200
    assert client.post(item_url + "review/", {"verdict": "pass"}, format="json").status_code == 409
    reviewed = client_for(member).post(
        item_url + "review/", {"verdict": "fail", "comment": "greets the wrong name", "corrected_output": "Hello Robert"},
        format="json",
    )  # fmt: skip
    assert reviewed.status_code == 200 and reviewed.json()["verdict"] == "fail"
    assert (
        client.get(f"{BASE}evaluation-runs/{run.pk}/items/?filter=unreviewed").json()[0]["item_id"]
        == "case-1"
    )
    decided = client.post(f"{BASE}evaluation-runs/{run.pk}/decide/", {"decision": "approved"}, format="json")
    assert decided.status_code == 200 and decided.json()["decision"] == "approved"
    # allowed now (pass rate 0.75 >= 0.7), and both decisions are in the audit trail
    moved = client.put(f"{BASE}workflows/greet/labels/", {"name": "production", "version": 1}, format="json")
    assert moved.status_code == 200
    assert list(GateDecision.objects.values_list("allowed", flat=True).order_by("created_at")) == [
        False,
        True,
    ]
    finetune = client.get(
        f"{BASE}evaluation-runs/finetune/?runs={run.pk}&split=train&as=chat"
    ).content.decode()
    assert json.loads(finetune.splitlines()[0])["messages"][1]["content"] == "Hello Robert"


@pytest.mark.django_db(transaction=True)
def test_comparing_two_versions_finds_the_regression(
    celery_worker_process: subprocess.Popen[bytes], workspace: Workspace, owner: User, target: Workflow
) -> None:
    published_dataset(workspace=workspace, slug="greetings")
    client = client_for(owner)
    first = wait_run(start(client).json()["id"])
    Workflow.objects.filter(pk=target.pk).update(draft=greeting_dsl("Hi {{ start.name }}"))
    target.refresh_from_db()
    versioning.version_publish(resource=target, user=None, message="v2")
    second = wait_run(start(client, workflow_version="2").json()["id"])
    compared = client.get(f"{BASE}evaluation-runs/{second.pk}/compare/?with={first.pk}").json()
    assert compared["common_items"] == 4 and compared["pass_rate_difference"] == -0.75
    assert sorted(compared["regressions"]) == ["case-1#0", "case-2#0", "case-4#0"]
    low, high = compared["confidence_interval_95"]
    assert low <= -0.75 <= high and high < 0


@pytest.mark.parametrize(("overrides", "field"), [
    ({"dataset_version": "7"}, "dataset_version"),
    ({"workflow_version": "production"}, "workflow_version"),
    ({"evaluators": [{"name": "r", "kind": "regex", "config": {"pattern": "("}}]}, "evaluators.0.config.pattern"),
    ({"evaluators": [{"name": "s", "kind": "json_schema", "config": {"schema": {"type": 5}}}]}, "evaluators.0.config.schema"),
    ({"evaluators": [{"name": "nobody"}]}, "evaluators.0.name"),
    ({"evaluators": []}, "evaluators"),
    ({"cost_cap": 0}, "cost_cap"),
    ({"repetitions": 0}, "repetitions"),
    ({"dataset": "nope"}, "dataset"),
])  # fmt: skip
def test_a_bad_request_names_the_field_and_creates_nothing(
    workspace: Workspace, owner: User, target: Workflow, overrides: dict[str, Any], field: str
) -> None:
    published_dataset(workspace=workspace, slug="greetings")
    response = start(client_for(owner), **overrides)
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert not EvaluationRun.objects.exists() and not EvaluationItem.objects.exists()


def test_a_dataset_version_without_items_cannot_be_evaluated(
    workspace: Workspace, owner: User, target: Workflow
) -> None:
    published_dataset(workspace=workspace, slug="greetings", draft={"items": []})
    response = start(client_for(owner))
    assert response.status_code == 400 and "dataset_version" in response.json()["error"]["fields"]
    assert not EvaluationRun.objects.exists()


def test_viewers_read_but_cannot_start_and_outsiders_see_nothing(
    workspace: Workspace, owner: User, outsider: User, target: Workflow
) -> None:
    published_dataset(workspace=workspace, slug="greetings")
    viewer = User.objects.create_user(username="vera", password="x")
    Membership.objects.create(workspace=workspace, user=viewer, role=Role.VIEWER)
    assert start(client_for(viewer)).status_code == 403
    assert client_for(viewer).get(f"{BASE}evaluation-runs/").status_code == 200
    for path in ("evaluation-runs/", "datasets/", "evaluators/", "label-gates/"):
        assert client_for(outsider).get(BASE + path).status_code == 404
    assert start(client_for(outsider)).status_code == 404
