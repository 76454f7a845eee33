"""Celery tasks of evaluations (routed to the ``evals`` queue by name)."""

from __future__ import annotations

from celery import shared_task

from llmops.evaluations.execution import items_sweep, run_begin, slot_run


@shared_task(name="llmops.evaluations.run_begin", acks_late=True)
def evaluation_run_begin(run_id: int) -> None:
    """Start an evaluation run's slots."""
    run_begin(run_id)


@shared_task(name="llmops.evaluations.slot", acks_late=True)
def evaluation_slot(run_id: int) -> int:
    """One slot: claim, execute and score items of the run until none is left."""
    return slot_run(run_id)


@shared_task(name="llmops.evaluations.sweep")
def evaluations_sweep() -> int:
    """Hand items of dead slots back and restart slots for their runs."""
    return items_sweep()
