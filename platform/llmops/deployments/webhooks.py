"""Webhooks of async runs: the final run as JSON, signed, sent through the SSRF guard.

Headers: ``X-LLMOps-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the deployment's webhook
secret>``, ``X-LLMOps-Timestamp`` (Unix seconds, also inside the signed body as ``timestamp`` so a receiver
can refuse replays) and ``X-LLMOps-Delivery`` (the run id: deliveries may repeat, receivers de-duplicate).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from django.conf import settings

from llmops.core.outbound import WEBHOOKS, url_check, webhook_client
from llmops.deployments.models import Deployment, DeploymentRun
from llmops.runs.models import Run


class WebhookFailed(Exception):
    """The receiver answered with a non-2xx status (retried with backoff)."""


def webhook_signature(secret: str, body: bytes) -> str:
    """The ``X-LLMOps-Signature`` value of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_url_check(url: str) -> None:
    """Raise ``workflows.BlockedURLError`` when ``url`` points at a private address not allow-listed."""
    url_check(url, setting=WEBHOOKS)


def webhook_target(run: Run) -> tuple[str, Deployment] | None:
    """Where a run's webhook goes: the call's own URL, else the deployment's; None when neither is set."""
    deployment = Deployment.objects.filter(pk=run.deployment_id or 0).first()
    if deployment is None:
        return None
    context = DeploymentRun.objects.filter(run_id=run.id).first()
    url = (context.webhook_url if context else "") or deployment.webhook_url
    return (url, deployment) if url else None


def webhook_send(*, url: str, secret: str, payload: dict[str, Any]) -> int:
    """POST one delivery; returns the status; ``WebhookFailed`` on a non-2xx answer."""
    timestamp = int(time.time())
    body = json.dumps({**payload, "timestamp": timestamp}, default=str, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "llmops-webhooks/1",
        "X-LLMOps-Signature": webhook_signature(secret, body),
        "X-LLMOps-Timestamp": str(timestamp),
        "X-LLMOps-Delivery": str(payload.get("id", "")),
    }
    with webhook_client(timeout=settings.LLMOPS_WEBHOOK_TIMEOUT_SECONDS) as client:
        response = client.post(url, content=body, headers=headers)
    if not 200 <= response.status_code < 300:
        raise WebhookFailed(f"{url} answered {response.status_code}")
    return response.status_code
