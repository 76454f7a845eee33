"""The one way to enqueue Celery work: after the surrounding transaction commits."""

from __future__ import annotations

import functools
from typing import Any

from celery import Task
from django.db import transaction


def enqueue_on_commit(task: Task, *args: Any, robust: bool = False, **kwargs: Any) -> None:  # type: ignore[type-arg]
    """Send ``task`` with ids/JSON primitives once the current transaction commits.

    Outside a transaction it is sent at once. If the transaction rolls back nothing is sent, so a worker
    never looks for a row that does not exist. ``robust=True`` logs a broker failure instead of raising it:
    for work whose row is its own record (a queued run) and that a sweeper enqueues again later.
    """
    transaction.on_commit(functools.partial(task.delay, *args, **kwargs), robust=robust)
