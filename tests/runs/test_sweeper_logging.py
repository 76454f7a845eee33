"""The sweeper runs every few seconds under ``make run``: the console shows what it changed, not each sweep."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from celery import current_app
from celery.app import trace
from django.utils import timezone

from llmops.accounts.models import Workspace
from llmops.runs.models import Run
from llmops.runs.services import runs_sweep
from llmops.runs.tasks import SWEEP_TASK
from tests.studio.factories import published_workflow

pytestmark = pytest.mark.django_db(transaction=True)


def orphaned_run(workspace: Workspace) -> Run:
    """A run accepted while the broker was down: stored, queued, never delivered."""
    workflow = published_workflow(workspace=workspace, slug="greeting")
    run = Run.objects.create(
        workspace=workspace,
        workflow=workflow,
        workflow_version=workflow.versions.get(),
        inputs={"name": "Ada"},
    )
    Run.objects.filter(id=run.id).update(enqueued_at=timezone.now() - timedelta(minutes=5))
    return run


def sweeper_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "llmops.runs.services"]


def test_celery_says_nothing_about_each_sweep_but_still_reports_other_tasks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    for task in (SWEEP_TASK, "llmops.runs.execute"):
        # when: beat sends the task, and the worker receives and finishes it (Celery's own log calls)
        logging.getLogger("celery.beat").info(
            "Scheduler: Sending due task %s (%s)", task.rsplit(".", 1)[-1], task
        )
        context: dict[str, Any] = {"id": "1", "name": task, "args": "()", "kwargs": "{}", "eta": None}
        logging.getLogger("celery.worker.strategy").info(trace.LOG_RECEIVED, context, extra={"data": context})
        trace.info(trace.LOG_SUCCESS, {**context, "return_value": "0", "runtime": 0.01})
    # then: three lines for the run task, none for the sweep
    lines = [record.getMessage() for record in caplog.records if record.name.startswith("celery")]
    assert len(lines) == 3, lines
    assert all("llmops.runs.execute" in line for line in lines)


def test_a_sweep_with_nothing_to_do_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    assert (runs_sweep(), runs_sweep()) == (0, 0)
    assert sweeper_lines(caplog) == []


def test_a_sweep_that_re_enqueues_says_so_once(
    workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    # given
    run = orphaned_run(workspace)
    caplog.set_level(logging.INFO)
    # when: two sweeps, the second with nothing left to do
    assert (runs_sweep(), runs_sweep()) == (1, 0)
    # then
    assert sweeper_lines(caplog) == [f"the sweeper re-enqueued 1 run(s) no worker was executing: {run.id}"]


def test_a_broker_outage_is_logged_once_and_its_end_once(
    workspace: Workspace, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the broker refuses every message
    run = orphaned_run(workspace)
    caplog.set_level(logging.INFO)

    def broker_down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(current_app, "send_task", broker_down)
    # when: three sweeps find the run and cannot send it
    for _ in range(3):
        Run.objects.filter(id=run.id).update(enqueued_at=timezone.now() - timedelta(minutes=5))
        assert runs_sweep() == 0
    # then: one warning
    assert sweeper_lines(caplog) == [
        "the sweeper cannot re-enqueue runs: the broker is unavailable; retrying"
    ]

    # when: the broker is back
    monkeypatch.undo()
    caplog.clear()
    Run.objects.filter(id=run.id).update(enqueued_at=timezone.now() - timedelta(minutes=5))
    assert runs_sweep() == 1
    # then
    assert sweeper_lines(caplog) == [
        "the sweeper reaches the broker again",
        f"the sweeper re-enqueued 1 run(s) no worker was executing: {run.id}",
    ]
