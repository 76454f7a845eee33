"""Celery tasks of deployments: executing worker-mode runs, and delivering webhooks."""

from __future__ import annotations

import logging

import httpx
from celery import shared_task
from django.conf import settings

from llmops.core.enqueue import enqueue_on_commit
from llmops.deployments.chat import chat_context_for_run
from llmops.deployments.idempotency import idempotency_records_purge
from llmops.deployments.payloads import run_payload
from llmops.deployments.webhooks import WebhookFailed, webhook_send, webhook_target
from llmops.runs.execution.worker import execute_run
from llmops.runs.models import Run
from workflows import BlockedURLError

logger = logging.getLogger(__name__)


@shared_task(
    name="llmops.deployments.execute", queue="runs", acks_late=True, reject_on_worker_lost=True,
    ignore_result=True,
)  # fmt: skip
def deployment_run_execute(run_id: str) -> None:
    """Execute a deployment run on a worker (with its chat turn), then send its webhook if it has one.

    A duplicate delivery loses the claim and returns without sending anything.
    """
    if execute_run(run_id=run_id, chat=chat_context_for_run(run_id=run_id)):
        run_webhook_enqueue(run_id=run_id)


def run_webhook_enqueue(*, run_id: str) -> None:
    """Enqueue the webhook of a finished run when its call or its deployment names one."""
    run = Run.objects.filter(id=run_id).first()
    if run is not None and run.is_final and webhook_target(run) is not None:
        enqueue_on_commit(deployment_webhook_deliver, run_id)


@shared_task(
    name="llmops.deployments.webhook", bind=True, autoretry_for=(WebhookFailed, httpx.TransportError),
    retry_backoff=2, retry_backoff_max=600, retry_jitter=True, max_retries=settings.LLMOPS_WEBHOOK_MAX_RETRIES,
    ignore_result=True,
)  # fmt: skip
def deployment_webhook_deliver(self: object, run_id: str) -> None:
    """POST the final run to its webhook (signed); retried with exponential backoff on failures."""
    run = Run.objects.select_related("workflow_version").filter(id=run_id).first()
    if run is None:
        return
    target = webhook_target(run)
    if target is None:
        return
    url, deployment = target
    try:
        webhook_send(
            url=url, secret=deployment.webhook_secret, payload={"event": "run.finished", **run_payload(run)}
        )
    except BlockedURLError as exc:  # not transient: never retried
        logger.warning("webhook of run %s refused by the SSRF guard: %s", run_id, exc)


@shared_task(name="llmops.deployments.idempotency_purge", ignore_result=True)
def idempotency_records_purge_task() -> int:
    """Forget ``Idempotency-Key`` records past their window (beat, hourly)."""
    return idempotency_records_purge()
