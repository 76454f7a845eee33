"""Celery round trips through a real worker process (not eager mode), and enqueue-after-commit."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from django.db import connection, transaction

from llmops.core.enqueue import enqueue_on_commit
from llmops.core.tasks import ping

pytestmark = pytest.mark.integration


@pytest.mark.django_db
def test_task_round_trips_through_a_real_worker_on_the_test_database(
    celery_worker_process: subprocess.Popen[bytes],
) -> None:
    token = uuid.uuid4().hex
    result = ping.delay(token).get(timeout=30)
    assert result["token"] == token
    assert result["database"] == connection.settings_dict["NAME"]


@pytest.mark.django_db(transaction=True)
def test_enqueue_on_commit_sends_nothing_when_the_transaction_rolls_back(
    django_capture_on_commit_callbacks: object,
) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_on_commit(ping, "never")
        raise RuntimeError("rollback")
    assert transaction.get_connection().run_on_commit == []


@pytest.mark.django_db
def test_enqueue_on_commit_sends_after_commit(
    celery_worker_process: subprocess.Popen[bytes], django_capture_on_commit_callbacks: object
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:  # type: ignore[operator]
        enqueue_on_commit(ping, "later")
    assert len(callbacks) == 1
