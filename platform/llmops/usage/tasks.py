"""Celery tasks of the usage app (queue ``default``): thin wrappers over one service each."""

from __future__ import annotations

from celery import shared_task

from llmops.usage.rollups import usage_rollup

# A beat run rolls up at most this many rows; the next run goes on where it stopped.
ROLLUP_ROWS_PER_RUN = 200_000


@shared_task(name="llmops.usage.rollup", ignore_result=True)
def rollup() -> int:
    """Count the ledger rows written since the last run (late ones too) into the dashboard rollups."""
    return usage_rollup(max_rows=ROLLUP_ROWS_PER_RUN)
