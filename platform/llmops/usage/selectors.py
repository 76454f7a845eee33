"""Reads on the usage ledger: filtered records and totals by day, endpoint, model, source and operation.

Every query is scoped to one workspace and a time range, so it runs on the ``(workspace, created_at)`` and
``(workspace, endpoint, created_at)`` indexes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate

from llmops.accounts.models import Workspace
from llmops.usage.models import UsageRecord, UsageStatus


@dataclass(frozen=True, slots=True)
class UsageFilter:
    """What to select: a time range (``start`` inclusive, ``end`` exclusive) and optional exact matches."""

    start: datetime | None = None
    end: datetime | None = None
    endpoint_slug: str = ""
    source: str = ""
    run_id: str = ""
    status: str = ""
    operation: str = ""


def usage_records_for_workspace(
    *, workspace: Workspace, filters: UsageFilter | None = None
) -> QuerySet[UsageRecord]:
    """The workspace's usage rows, newest first, narrowed by ``filters``."""
    filters = filters or UsageFilter()
    queryset = UsageRecord.objects.filter(workspace=workspace)
    if filters.start:
        queryset = queryset.filter(created_at__gte=filters.start)
    if filters.end:
        queryset = queryset.filter(created_at__lt=filters.end)
    exact = {
        "endpoint_slug": filters.endpoint_slug,
        "source": filters.source,
        "run_id": filters.run_id,
        "status": filters.status,
        "operation": filters.operation,
    }
    return queryset.filter(**{field: value for field, value in exact.items() if value})


_TOTALS: dict[str, Any] = {
    "calls": Count("id"),
    "errors": Count("id", filter=Q(status=UsageStatus.ERROR)),
    "prompt_tokens": Coalesce(Sum("prompt_tokens"), 0),
    "completion_tokens": Coalesce(Sum("completion_tokens"), 0),
    "cached_tokens": Coalesce(Sum("cached_tokens"), 0),
    "cost": Sum("cost"),
}


def _grouped(queryset: QuerySet[UsageRecord], *keys: str) -> list[dict[str, Any]]:
    # Cost is summed per currency: adding USD to CNY would be meaningless.
    rows = queryset.values(*keys, "currency").annotate(**_TOTALS).order_by(*keys, "currency")
    return [dict(row) for row in rows]


def usage_summary(
    *, workspace: Workspace, filters: UsageFilter | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Totals, and the same totals per day, endpoint, model, source and operation (chat, stream, embed,
    rerank, moderation), each split by currency."""
    queryset = usage_records_for_workspace(workspace=workspace, filters=filters).order_by()
    return {
        "totals": _grouped(queryset),
        "by_day": _grouped(queryset.annotate(day=TruncDate("created_at")), "day"),
        "by_endpoint": _grouped(queryset, "endpoint_slug"),
        "by_model": _grouped(queryset, "provider_kind", "model_name"),
        "by_source": _grouped(queryset, "source"),
        "by_operation": _grouped(queryset, "operation"),
    }
