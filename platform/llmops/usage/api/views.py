"""The read-only usage API: ledger rows and a summary, scoped to the workspace in the URL (viewers read)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from llmops.accounts.models import Role
from llmops.accounts.permissions import WORKSPACE_PERMISSIONS, WorkspaceScopedMixin
from llmops.core.errors import ValidationError
from llmops.core.spreadsheets import spreadsheet_safe
from llmops.deployments.webhooks import webhook_url_check
from llmops.usage import selectors
from llmops.usage.api.serializers import UsageRecordSerializer
from llmops.usage.budgets import budget_status, budgets_forget
from llmops.usage.currencies import CURRENCIES
from llmops.usage.dashboards import TOP_DIMENSIONS, DashboardQuery, dashboard, dashboard_csv_rows
from llmops.usage.models import (
    Budget,
    BudgetScope,
    Dimension,
    Granularity,
    UsageOperation,
    UsageRecord,
    UsageSettings,
    UsageSource,
    UsageStatus,
)
from workflows import BlockedURLError

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


FILTER_DIMENSIONS = [d for d in Dimension.values if d != Dimension.TOTAL]
DASHBOARD_PARAMETERS = [
    OpenApiParameter("start", str, required=True, description="ISO date or datetime, inclusive (UTC)."),
    OpenApiParameter("end", str, required=True, description="ISO date or datetime, exclusive."),
    OpenApiParameter("granularity", str, enum=Granularity.values, description="Bucket width (default day)."),
    OpenApiParameter(
        "group_by", str, enum=[d for d in Dimension.values if d != Dimension.TOTAL],
        description="One series per key of this dimension (default: one for the workspace).",
    ),
    OpenApiParameter("key", str, many=True, description="Only these keys of group_by (repeat the parameter)."),
    OpenApiParameter("top", int, description="Rows of each top-N table (1-100, default 10)."),
    OpenApiParameter(
        "top_of", str, many=True, enum=list(TOP_DIMENSIONS),
        description="Only these top-N tables (repeat; default: deployment, model, api_key, end_user).",
    ),
    OpenApiParameter("export", str, enum=["csv"], description="csv: the series as a CSV file."),
    *(
        OpenApiParameter(
            name, str, many=True,
            description=f"Only calls with this {name} (repeat: any of them; several dimensions: all of them).",
        )
        for name in FILTER_DIMENSIONS
    ),
]  # fmt: skip


def dashboard_query_from(params: Any) -> DashboardQuery:
    """Parse a query string (``DASHBOARD_PARAMETERS``) into a :class:`DashboardQuery` (400 naming a missing or
    malformed parameter); the usage API and the admin's dashboard pages share it."""
    missing = {name: ["Required."] for name in ("start", "end") if not params.get(name)}
    if missing:
        raise ValidationError("Give the range.", fields=missing)
    try:
        top = int(params.get("top", 10))
    except ValueError:
        raise ValidationError("Invalid top.", fields={"top": ["An integer."]}) from None
    filters = tuple((name, tuple(params.getlist(name))) for name in FILTER_DIMENSIONS if params.getlist(name))
    return DashboardQuery(
        filters=filters,
        start=_moment(params, "start") or datetime.now(UTC),
        end=_moment(params, "end") or datetime.now(UTC),
        granularity=params.get("granularity", Granularity.DAY),
        group_by=params.get("group_by") or None,
        keys=tuple(params.getlist("key")),
        top=top,
        tops=tuple(params.getlist("top_of")) or TOP_DIMENSIONS,
    )


class UsageDashboardView(WorkspaceScopedMixin, APIView):
    """``/api/workspaces/<ws>/usage/dashboard/``: series, totals and top-N tables from the rollups, in the
    workspace's currency; ``?export=csv`` downloads the series."""

    permission_classes = WORKSPACE_PERMISSIONS

    @extend_schema(parameters=DASHBOARD_PARAMETERS, responses={200: dict})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response | HttpResponse:
        params = request.query_params
        query = dashboard_query_from(params)
        csv_wanted = params.get("export") == "csv"
        view = dashboard(workspace=self.workspace, query=query, with_top=not csv_wanted)
        if not csv_wanted:
            return Response(view)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="usage-{self.workspace.slug}.csv"'
        csv.writer(response).writerows(
            [spreadsheet_safe(cell) for cell in row] for row in dashboard_csv_rows(view)
        )
        return response


class UsageSettingsSerializer(serializers.ModelSerializer[UsageSettings]):
    currency = serializers.CharField(min_length=3, max_length=3)
    rates = serializers.DictField(
        child=serializers.DecimalField(max_digits=20, decimal_places=10, min_value=Decimal("0.0000000001")),
        required=False,
        help_text='{"CNY": "0.138"}: one unit of CNY is worth 0.138 of currency.',
    )

    class Meta:
        model = UsageSettings
        fields = ["currency", "rates", "updated_at"]
        read_only_fields = ["updated_at"]

    def validate_currency(self, value: str) -> str:
        return _currency(value)

    def validate_rates(self, value: dict[str, Decimal]) -> dict[str, str]:
        for code in value:
            _currency(code, field=f"rates.{code}")
        return {code.upper(): str(rate) for code, rate in value.items()}


def _currency(value: str, *, field: str = "currency") -> str:
    code = value.upper()
    if code not in CURRENCIES:
        raise ValidationError(
            "Unknown currency.", fields={field: ["An ISO 4217 code such as USD, CNY or EUR."]}
        )
    return code


class UsageSettingsView(WorkspaceScopedMixin, APIView):
    """``/api/workspaces/<ws>/usage/settings/``: the reporting currency and conversion rates (admins write)."""

    permission_classes = WORKSPACE_PERMISSIONS
    write_role = Role.ADMIN

    @extend_schema(responses=UsageSettingsSerializer)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        settings, _ = UsageSettings.objects.get_or_create(workspace=self.workspace)
        return Response(UsageSettingsSerializer(settings).data)

    @extend_schema(request=UsageSettingsSerializer, responses=UsageSettingsSerializer)
    def put(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        settings, _ = UsageSettings.objects.get_or_create(workspace=self.workspace)
        serializer = UsageSettingsSerializer(settings, data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data)


class BudgetSerializer(serializers.ModelSerializer[Budget]):
    cap = serializers.DecimalField(max_digits=20, decimal_places=6, min_value=Decimal("0.000001"))
    thresholds = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=100), max_length=10, required=False
    )
    webhook_secret = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=500)
    status = serializers.SerializerMethodField()

    class Meta:
        model = Budget
        fields = [
            "id", "name", "scope", "scope_key", "period", "metric", "cap", "currency", "thresholds", "webhook_url",
            "webhook_secret", "is_active", "status", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "status", "created_at", "updated_at"]

    def get_status(self, budget: Budget) -> dict[str, Any]:
        return budget_status(budget)

    def validate_currency(self, value: str) -> str:
        return _currency(value)

    def validate_webhook_url(self, value: str) -> str:
        if value:
            try:
                webhook_url_check(value)
            except BlockedURLError as exc:
                raise serializers.ValidationError(str(exc)) from None
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        scope = attrs.get("scope", getattr(self.instance, "scope", None))
        if scope == BudgetScope.WORKSPACE and attrs.get("scope_key"):
            raise ValidationError("Invalid budget.", fields={"scope_key": ["A workspace budget has no key."]})
        if "thresholds" in attrs:
            attrs["thresholds"] = sorted(set(attrs["thresholds"]))
        return attrs


class BudgetViewSet(WorkspaceScopedMixin, viewsets.ModelViewSet[Budget]):
    """``/api/workspaces/<ws>/budgets/``: caps per workspace, deployment, API key or end user, enforced before
    each model call, with their consumption this period (``status``) and soft thresholds (admins write)."""

    permission_classes = WORKSPACE_PERMISSIONS
    serializer_class = BudgetSerializer
    write_role = Role.ADMIN

    def get_queryset(self) -> QuerySet[Budget]:
        return Budget.objects.filter(workspace=self.workspace)

    def perform_create(self, serializer: serializers.BaseSerializer[Budget]) -> None:
        serializer.save(workspace=self.workspace)
        budgets_forget(self.workspace.pk)

    def perform_update(self, serializer: serializers.BaseSerializer[Budget]) -> None:
        serializer.save()
        budgets_forget(self.workspace.pk)

    def perform_destroy(self, instance: Budget) -> None:
        instance.delete()
        budgets_forget(self.workspace.pk)
