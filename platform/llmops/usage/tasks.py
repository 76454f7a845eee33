"""Celery tasks of the usage app (queue ``default``): thin wrappers over one service each."""

from __future__ import annotations

import httpx
from celery import shared_task
from django.conf import settings
from django.utils import timezone

from llmops.deployments.webhooks import WebhookFailed, webhook_send
from llmops.usage.budgets import budgets_reconcile
from llmops.usage.models import BudgetAlert
from llmops.usage.rollups import usage_rollup
from llmops.usage.run_rollups import run_rollup
from workflows import BlockedURLError

# A beat run rolls up at most this many rows; the next run goes on where it stopped.
ROLLUP_ROWS_PER_RUN = 200_000


@shared_task(name="llmops.usage.rollup", ignore_result=True)
def rollup() -> int:
    """Count the ledger rows written since the last run (late ones too) and the runs finished since into the
    dashboard rollups."""
    return usage_rollup(max_rows=ROLLUP_ROWS_PER_RUN) + run_rollup(max_runs=ROLLUP_ROWS_PER_RUN)


@shared_task(name="llmops.usage.budgets_reconcile", ignore_result=True)
def budgets_reconcile_task() -> int:
    """Set the budgets' Redis counters to the ledger's figures (beat)."""
    return budgets_reconcile()


@shared_task(
    name="llmops.usage.budget_alert", bind=True, autoretry_for=(WebhookFailed, httpx.TransportError),
    retry_backoff=2, retry_backoff_max=600, retry_jitter=True, max_retries=settings.LLMOPS_WEBHOOK_MAX_RETRIES,
    ignore_result=True,
)  # fmt: skip
def budget_alert_deliver(self: object, alert_id: int) -> None:
    """POST a crossed budget threshold to the budget's webhook (signed like run webhooks; retried)."""
    alert = BudgetAlert.objects.select_related("budget").filter(pk=alert_id).first()
    if alert is None or not alert.budget.webhook_url:
        return
    budget = alert.budget
    payload = {
        "event": "budget.threshold", "id": f"budget-alert-{alert.pk}", "budget": budget.name,
        "budget_id": budget.pk, "workspace_id": budget.workspace_id, "scope": budget.scope,
        "scope_value": alert.scope_value, "period": budget.period, "period_start": alert.period_start.isoformat(),
        "threshold": alert.threshold, "spent": str(alert.spent), "cap": str(budget.cap),
        "unit": budget.currency if budget.metric == "cost" else "tokens",
    }  # fmt: skip
    try:
        webhook_send(url=budget.webhook_url, secret=budget.webhook_secret, payload=payload)
    except BlockedURLError as exc:  # not transient: never retried
        BudgetAlert.objects.filter(pk=alert.pk).update(
            delivery_error=f"refused by the SSRF guard: {exc}"[:500]
        )
        return
    BudgetAlert.objects.filter(pk=alert.pk).update(delivered_at=timezone.now(), delivery_error="")
