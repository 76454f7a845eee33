"""``Idempotency-Key`` records: one per key, API key and deployment, shared by workflow and chain calls.

The same key sent to another deployment is another call (a client's keys are unique per endpoint it calls,
not across all of them); the same key, deployment and body within the window replays.

A workflow call's record points at its run; a chain call's stores its response body (``result``). A record
lives ``LLMOPS_IDEMPOTENCY_HOURS``; the hourly purge forgets older ones.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from llmops.core.errors import UnprocessableEntity
from llmops.deployments.models import ApiKey, Deployment, IdempotencyRecord

IDEMPOTENCY_IN_FLIGHT = "A request with this Idempotency-Key is still being processed."


def _body_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def idempotency_claim(
    *, key: ApiKey, idempotency_key: str, deployment: Deployment, body: Any
) -> tuple[IdempotencyRecord, bool]:
    """Record an ``Idempotency-Key`` for this API key and deployment (``True``: new, this call owns it) or
    return the earlier record of the same key and body (``False``); the same key with another body on the
    same deployment is ``UnprocessableEntity`` (422).

    Used by workflow calls (the record points at the run) and chain calls (it stores the response body).
    """
    digest = _body_hash({"deployment": deployment.pk, "body": body})
    horizon = timezone.now() - timedelta(hours=settings.LLMOPS_IDEMPOTENCY_HOURS)
    records = IdempotencyRecord.objects.filter(api_key=key, deployment=deployment, key=idempotency_key)
    records.filter(created_at__lt=horizon).delete()
    record = None
    while record is None:
        try:
            # A concurrent request with the same key blocks on the unique index until the first one commits.
            with transaction.atomic():
                created = IdempotencyRecord.objects.create(
                    api_key=key, deployment=deployment, key=idempotency_key, body_hash=digest
                )
            return created, True
        except IntegrityError:
            # None when the holder forgot it meanwhile (a chain call that failed): claim it again.
            record = records.select_related("run").first()
    if record.body_hash != digest:
        raise UnprocessableEntity(
            "This Idempotency-Key was used with a different request body.",
            fields={"Idempotency-Key": ["Reused with a different body."]},
        )
    return record, False


def idempotency_records_purge() -> int:
    """Delete ``Idempotency-Key`` records older than the replay window (a periodic task); returns how many."""
    horizon = timezone.now() - timedelta(hours=settings.LLMOPS_IDEMPOTENCY_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=horizon).delete()
    return deleted
