"""The read-only usage API: ledger rows and a summary, scoped to the workspace in the URL (viewers read)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from llmops.accounts.permissions import WORKSPACE_PERMISSIONS, WorkspaceScopedMixin
from llmops.core.errors import ValidationError
from llmops.usage import selectors
from llmops.usage.api.serializers import UsageRecordSerializer
from llmops.usage.models import UsageOperation, UsageRecord, UsageSource, UsageStatus

FILTER_PARAMETERS = [
    OpenApiParameter("from", str, description="ISO date or datetime, inclusive (UTC when no offset)."),
    OpenApiParameter("to", str, description="ISO date or datetime, exclusive."),
    OpenApiParameter("endpoint", str, description="Model endpoint slug."),
    OpenApiParameter("source", str, enum=UsageSource.values),
    OpenApiParameter("run_id", str),
    OpenApiParameter("status", str, enum=UsageStatus.values),
    OpenApiParameter("operation", str, enum=UsageOperation.values),
]


def _moment(params: Any, name: str) -> datetime | None:
    value = params.get(name)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        # In UTC: an offset at the ends of the calendar ("0001-01-01T00:00+23:59") has no UTC moment.
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise ValidationError("Invalid filter.", fields={name: ["An ISO date or datetime."]}) from None


def usage_filter_from(params: Any) -> selectors.UsageFilter:
    """Parse the query string into a :class:`UsageFilter` (400 naming a malformed parameter)."""
    choices_of = {
        "source": UsageSource.values,
        "status": UsageStatus.values,
        "operation": UsageOperation.values,
    }
    for name, choices in choices_of.items():
        if params.get(name) and params[name] not in choices:
            raise ValidationError("Invalid filter.", fields={name: [f"One of: {', '.join(choices)}."]})
    return selectors.UsageFilter(
        start=_moment(params, "from"),
        end=_moment(params, "to"),
        endpoint_slug=params.get("endpoint", ""),
        source=params.get("source", ""),
        run_id=params.get("run_id", ""),
        status=params.get("status", ""),
        operation=params.get("operation", ""),
    )


class UsageRecordListView(WorkspaceScopedMixin, generics.ListAPIView[UsageRecord]):
    """``/api/workspaces/<ws>/usage/records/``: ledger rows, newest first, filterable."""

    permission_classes = WORKSPACE_PERMISSIONS
    serializer_class = UsageRecordSerializer

    @extend_schema(parameters=FILTER_PARAMETERS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[UsageRecord]:
        filters = usage_filter_from(self.request.query_params)
        return selectors.usage_records_for_workspace(workspace=self.workspace, filters=filters)


class UsageSummaryView(WorkspaceScopedMixin, APIView):
    """``/api/workspaces/<ws>/usage/summary/``: totals and per-day/endpoint/model/source/operation
    breakdowns."""

    permission_classes = WORKSPACE_PERMISSIONS

    @extend_schema(parameters=FILTER_PARAMETERS, responses={200: dict})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        filters = usage_filter_from(request.query_params)
        summary = selectors.usage_summary(workspace=self.workspace, filters=filters)
        return Response(_jsonable(summary))


def _jsonable(summary: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, rows in summary.items():
        out[key] = [
            {
                name: (str(value) if name == "cost" and value is not None else value)
                for name, value in row.items()
            }
            for row in rows
        ]
    return out
