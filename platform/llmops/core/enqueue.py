"""The one way to enqueue Celery work: after the surrounding transaction commits."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Task[Any, Any], *args: Any, robust: bool = False, **kwargs: Any) -> None:
    """Send ``task`` with ids/JSON primitives once the current transaction commits.

    Outside a transaction it is sent at once. If the transaction rolls back nothing is sent, so a worker
    never looks for a row that does not exist. ``robust=True`` logs a broker failure instead of raising it:
    for work whose row is its own record (a queued run) and that a sweeper enqueues again later.
    """

    def send() -> None:
        # Caught here rather than with on_commit(robust=True): Django's robust path logs the callable's
        # __qualname__, and raises AttributeError itself for a partial or any callable object without one.
        try:
            task.delay(*args, **kwargs)
        except Exception:
            if not robust:
                raise
            logger.warning(
                "could not enqueue %s%r; the broker is unavailable", task.name, args, exc_info=True
            )

    transaction.on_commit(send)
