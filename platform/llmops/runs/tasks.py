"""Celery tasks of the runs app (queue ``runs``): thin wrappers over one service each."""

from __future__ import annotations

from celery import shared_task

from llmops.runs.execution import execute_run
from llmops.runs.schedules import schedule_fire
from llmops.runs.services import runs_sweep


@shared_task(name="llmops.runs.execute", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_execute(run_id: str) -> None:
    """Execute or resume a run; a duplicate delivery loses the claim and returns."""
    execute_run(run_id=run_id)


@shared_task(name="llmops.runs.sweep", ignore_result=True)
def runs_sweep_task() -> int:
    """Re-enqueue orphaned runs (see ``runs_sweep``)."""
    return runs_sweep()


@shared_task(name="llmops.runs.scheduled", ignore_result=True)
def schedule_fire_task(schedule_id: int) -> None:
    """Beat calls this for each due schedule."""
    schedule_fire(schedule_id=schedule_id)
