"""Run-level dashboard figures against the runs themselves: counts, failures, mean and p95 durations per
workflow and deployment, late finishes, debug runs left out, a rebuild, and the dashboard API's ``runs``."""

from __future__ import annotations

import io
import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command

from llmops.accounts.models import User, Workspace
from llmops.runs.models import Run, RunStatus, Trigger
from llmops.studio.models import Workflow
from llmops.usage import histograms
from llmops.usage.models import RunRollup
from llmops.usage.run_rollups import run_rollup, run_rollup_rebuild
from tests.conftest import client_for
from tests.studio.factories import published_workflow

pytestmark = pytest.mark.django_db
DAY0 = datetime(2026, 11, 1, tzinfo=UTC)


def a_run(workflow: Workflow, *, at: datetime, ms: int | None, status: str = RunStatus.SUCCEEDED,
          deployment: int | None = None, trigger: str = Trigger.API) -> Run:  # fmt: skip
    run = Run.objects.create(
        workspace=workflow.workspace, workflow=workflow, workflow_version=workflow.versions.get(), status=status,
        deployment_id=deployment, trigger=trigger, started_at=at,
        finished_at=None if ms is None else at + timedelta(milliseconds=ms),
    )  # fmt: skip
    Run.objects.filter(pk=run.pk).update(created_at=at)
    return run


def runs_of_two_workflows(workspace: Workspace, count: int = 200) -> list[tuple[str, int | None, str, int]]:
    """(workflow slug, deployment, status, duration) of ``count`` finished runs over three days."""
    rng = random.Random(3)
    flows = [published_workflow(workspace=workspace, slug=slug) for slug in ("support", "翻译")]
    made: list[tuple[str, int | None, str, int]] = []
    for i in range(count):
        flow = rng.choice(flows)
        deployment = rng.choice([None, 11, 12])
        status = (
            RunStatus.FAILED if i % 7 == 0 else RunStatus.CANCELLED if i % 13 == 0 else RunStatus.SUCCEEDED
        )
        ms = int(rng.lognormvariate(8, 1))
        a_run(flow, at=DAY0 + timedelta(minutes=rng.randint(0, 3 * 24 * 60 - 1)), ms=ms, status=status,
              deployment=deployment)  # fmt: skip
        made.append((flow.slug, deployment, status, ms))
    return made


def exact_p95(values: list[int]) -> int:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(0.95 * len(ordered))) - 1]


def dashboard(user: User, **params: Any) -> dict[str, Any]:
    query = {"start": "2026-11-01", "end": "2026-11-04", **params}
    response = client_for(user).get("/api/workspaces/acme/usage/dashboard/", query)
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def test_run_figures_match_the_runs_per_workflow_and_deployment(workspace: Workspace, owner: User) -> None:
    made = runs_of_two_workflows(workspace)
    assert run_rollup() == len(made)
    by_flow = dashboard(owner, group_by="workflow")["runs"]
    assert by_flow["totals"]["runs"] == len(made)
    assert by_flow["totals"]["failures"] == sum(status == RunStatus.FAILED for _f, _d, status, _ms in made)
    for series in by_flow["series"]:
        mine = [run for run in made if run[0] == series["key"]]
        durations = [ms for *_rest, ms in mine]
        assert series["totals"]["runs"] == len(mine) == sum(p["runs"] for p in series["points"])
        assert series["totals"]["cancelled"] == sum(
            status == RunStatus.CANCELLED for _f, _d, status, _ms in mine
        )
        assert series["totals"]["duration_ms_mean"] == pytest.approx(sum(durations) / len(durations), abs=0.1)
        assert series["totals"]["duration_ms_p95"] == pytest.approx(exact_p95(durations), rel=0.1)
    assert {s["key"] for s in by_flow["series"]} == {"support", "翻译"}
    by_deployment = dashboard(owner, group_by="deployment", key="11")["runs"]
    assert [s["key"] for s in by_deployment["series"]] == ["11"]
    assert by_deployment["series"][0]["totals"]["runs"] == sum(d == 11 for _f, d, _s, _ms in made)
    assert by_deployment["totals"]["runs"] == len(made)  # totals stay the workspace's, as the ledger's do
    hourly = dashboard(owner, granularity="hour", start="2026-11-02", end="2026-11-03")["runs"]
    assert all(p["bucket"].startswith("2026-11-02T") for p in hourly["series"][0]["points"])
    assert "runs" not in dashboard(owner, group_by="model")  # runs have no model


def test_unfinished_and_debug_runs_wait_or_stay_out_and_late_finishes_land_in_their_day(
    workspace: Workspace,
) -> None:
    flow = published_workflow(workspace=workspace, slug="support")
    running = a_run(flow, at=DAY0, ms=None, status=RunStatus.RUNNING)
    a_run(flow, at=DAY0, ms=50, trigger=Trigger.DEBUG)
    a_run(flow, at=DAY0, ms=120)
    assert run_rollup() == 2  # the debug run is taken and marked, not counted
    day = RunRollup.objects.get(workspace=workspace, granularity="day", dimension="total")
    assert (day.runs, day.duration_count) == (1, 1)
    Run.objects.filter(pk=running.pk).update(status=RunStatus.FAILED, finished_at=DAY0 + timedelta(hours=2))
    assert run_rollup() == 1 and run_rollup() == 0  # counted once, when it finished
    day.refresh_from_db()
    assert (day.runs, day.failures, day.bucket) == (2, 1, DAY0)
    assert histograms.percentile(day.duration_hist, 0.95) == pytest.approx(2 * 3600 * 1000, rel=0.1)


def test_a_rebuild_recounts_the_runs(workspace: Workspace) -> None:
    runs_of_two_workflows(workspace, count=40)
    run_rollup()
    snapshot = sorted(RunRollup.objects.values_list("granularity", "dimension", "bucket", "key", "runs",
                                                    "failures", "duration_ms_sum", "duration_hist"))  # fmt: skip
    RunRollup.objects.update(runs=0)
    assert run_rollup_rebuild(workspace_id=workspace.pk) == 40
    call_command("usage_rollup", "--rebuild", "--since", "2026-11-02", stdout=io.StringIO())
    assert sorted(RunRollup.objects.values_list("granularity", "dimension", "bucket", "key", "runs",
                                                "failures", "duration_ms_sum", "duration_hist")) == snapshot  # fmt: skip
