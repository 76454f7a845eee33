"""A run that keeps losing its worker (each one wedged or killed by it) is failed with a reason once it has
been taken over ``LLMOPS_RUN_MAX_ATTEMPTS`` times, instead of being handed to the next worker forever."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.test import override_settings
from django.utils import timezone

from llmops.accounts.models import Workspace
from llmops.runs.models import Run, RunEvent, RunStatus
from llmops.runs.services import run_claim, runs_sweep
from llmops.runs.store import DjangoRunStore
from tests.studio.factories import published_workflow
from workflows import RunRecord

pytestmark = pytest.mark.django_db(transaction=True)


def orphaned_run(workspace: Workspace, attempts: int) -> Run:
    """A running run whose worker stopped heart-beating five minutes ago, after ``attempts`` claims."""
    workflow = published_workflow(workspace=workspace, slug=f"greeting-{attempts}")
    stale = timezone.now() - timedelta(minutes=5)
    return Run.objects.create(
        workspace=workspace, workflow=workflow, workflow_version=workflow.versions.get(),
        inputs={"name": "Ada"}, status=RunStatus.RUNNING, heartbeat_at=stale, claim=uuid.uuid4(),
        attempts=attempts, started_at=stale, enqueued_at=stale,
    )  # fmt: skip


def test_a_run_taken_over_too_often_fails_with_a_reason_instead_of_being_requeued(
    workspace: Workspace,
) -> None:
    # given: a run three workers have already claimed and lost
    run = orphaned_run(workspace, attempts=3)
    # when: the sweeper finds it stale again
    with override_settings(LLMOPS_RUN_MAX_ATTEMPTS=3):
        requeued = runs_sweep()
    # then: it is failed, says why, and subscribers learn the end
    assert requeued == 0
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.finished_at is not None and run.error is not None
    assert run.error["type"] == "RunAttemptsExhausted"
    assert "3 times" in run.error["message"]
    finished = RunEvent.objects.get(run=run, type="run_finished")
    assert finished.data["status"] == "failed" and finished.data["error"] == run.error


def test_a_late_delivery_cannot_claim_a_run_past_its_attempts(workspace: Workspace) -> None:
    run = orphaned_run(workspace, attempts=3)
    with override_settings(LLMOPS_RUN_MAX_ATTEMPTS=3):
        assert not run_claim(run_id=str(run.id), claim=uuid.uuid4())
    run.refresh_from_db()
    assert run.attempts == 3


def test_a_run_below_the_cap_is_still_taken_over(workspace: Workspace) -> None:
    run = orphaned_run(workspace, attempts=2)
    with override_settings(LLMOPS_RUN_MAX_ATTEMPTS=3):
        assert run_claim(run_id=str(run.id), claim=uuid.uuid4())
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and run.attempts == 3


def test_a_wedged_worker_that_wakes_up_after_the_sweeper_failed_its_run_cannot_overwrite_the_failure(
    workspace: Workspace,
) -> None:
    # given: a run failed by the sweeper past its attempts while its last worker was wedged
    run = orphaned_run(workspace, attempts=3)
    with override_settings(LLMOPS_RUN_MAX_ATTEMPTS=3):
        runs_sweep()
    # when: that worker wakes up and writes its final state under its old claim
    store = DjangoRunStore(run.claim, defer_final=True)
    record = RunRecord(run_id=str(run.id), status="succeeded", outputs={"greeting": "late"})
    written = async_to_sync(store.write_run)(record)
    # then: nothing is written and the run stays failed with the sweeper's reason
    assert written == 0
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.outputs == {} and run.claim is None
    assert run.error is not None and run.error["type"] == "RunAttemptsExhausted"


def test_a_worker_cannot_overwrite_a_run_that_ended_while_it_still_held_the_claim(
    workspace: Workspace,
) -> None:
    # given: a run that ended (failed) while its claim was kept
    run = orphaned_run(workspace, attempts=1)
    Run.objects.filter(id=run.id).update(status=RunStatus.FAILED, error={"type": "X", "message": "ended"})
    # when: the claim's holder writes a final success
    written = async_to_sync(DjangoRunStore(run.claim).write_run)(
        RunRecord(run_id=str(run.id), status="succeeded", outputs={"greeting": "late"})
    )
    # then: the final status stands
    run.refresh_from_db()
    assert run.error is not None
    assert (written, run.status, run.error["type"]) == (0, RunStatus.FAILED, "X")
