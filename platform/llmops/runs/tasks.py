"""Celery tasks of the runs app (queue ``runs``): thin wrappers over one service each."""

from __future__ import annotations

import logging

from celery import shared_task

from llmops.runs.execution.worker import execute_run
from llmops.runs.schedules import schedule_fire
from llmops.runs.services import runs_sweep


@shared_task(name="llmops.runs.execute", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_execute(run_id: str) -> None:
    """Execute or resume a run; a duplicate delivery loses the claim and returns."""
    execute_run(run_id=run_id)


SWEEP_TASK = "llmops.runs.sweep"


@shared_task(name=SWEEP_TASK, ignore_result=True)
def runs_sweep_task() -> int:
    """Re-enqueue orphaned runs (see ``runs_sweep``, which logs what it changed)."""
    return runs_sweep()


class WithoutSweepChatter(logging.Filter):
    """Drops Celery's INFO lines about each sweep (beat's "Sending due task", the worker's "received" and
    "succeeded"): at one sweep every few seconds they would bury every other line of ``make run``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        data = getattr(record, "data", None)  # the worker's lines carry the task in ``extra={"data": ...}``
        if isinstance(data, dict):
            return data.get("name") != SWEEP_TASK
        return not (isinstance(record.args, tuple) and SWEEP_TASK in record.args)  # beat's line


# Worker and beat both import this module before their first sweep (Celery's task autodiscovery).
for _logger in ("celery.beat", "celery.worker.strategy", "celery.app.trace"):
    logging.getLogger(_logger).addFilter(WithoutSweepChatter())


@shared_task(name="llmops.runs.scheduled", ignore_result=True)
def schedule_fire_task(schedule_id: int) -> None:
    """Beat calls this for each due schedule."""
    schedule_fire(schedule_id=schedule_id)
