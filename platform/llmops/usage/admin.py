"""Admin pages for the usage ledger (read-only: rows are facts about calls that happened), and the usage
dashboards: a workspace's overview, one deployment's and one workflow's, drawn in the browser (uPlot, served
from this app's static files) from a JSON view on :func:`llmops.usage.dashboards.dashboard`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from rest_framework.utils.encoders import JSONEncoder

from llmops.accounts.models import Workspace
from llmops.core.errors import ValidationError
from llmops.deployments.models import ApiKey, Deployment
from llmops.studio.models import Workflow
from llmops.usage.api.views import dashboard_query_from
from llmops.usage.budgets import budget_status, budgets_forget
from llmops.usage.dashboards import dashboard
from llmops.usage.models import (
    Budget,
    BudgetAlert,
    Dimension,
    Granularity,
    RunRollup,
    UsageRecord,
    UsageRollup,
    UsageSettings,
)


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin[UsageRecord]):
    list_display = [
        "created_at",
        "workspace",
        "endpoint_slug",
        "model_name",
        "operation",
        "source",
        "status",
        "prompt_tokens",
        "completion_tokens",
        "latency_ms",
        "ttft_ms",
        "cost",
        "currency",
    ]
    list_filter = ["status", "operation", "source", "provider_kind", "workspace", "created_at"]
    search_fields = ["endpoint_slug", "model_name", "run_id", "deployment_id", "end_user", "error_type"]
    date_hierarchy = "created_at"
    list_select_related = ["workspace"]
    show_full_result_count = False  # COUNT(*) over a big ledger is slow

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in UsageRecord._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class BudgetAlertInline(admin.TabularInline[BudgetAlert, Budget]):
    model = BudgetAlert
    extra = 0
    can_delete = False
    fields = (
        "created_at",
        "period_start",
        "scope_value",
        "threshold",
        "spent",
        "delivered_at",
        "delivery_error",
    )
    readonly_fields = fields


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin[Budget]):
    """Budgets with this period's consumption (from the ledger) and the thresholds they crossed."""

    list_display = ["name", "workspace", "scope", "scope_key", "period", "metric", "cap", "currency", "consumption",
                    "is_active"]  # fmt: skip
    list_filter = ["scope", "period", "metric", "is_active", "workspace"]
    search_fields = ["name", "scope_key"]
    exclude = ["webhook_secret"]
    inlines = [BudgetAlertInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="this period")
    def consumption(self, budget: Budget) -> str:
        status = budget_status(budget)
        return f"{status['used_fraction']:.0%} of the cap (top key), resets {status['resets_at'][:16]}"

    def save_model(self, request: HttpRequest, obj: Budget, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        budgets_forget(obj.workspace_id)


class _RollupCellsAdmin(admin.ModelAdmin[Any]):
    """Rollup cells: read only (``manage.py usage_rollup --rebuild`` recounts them)."""

    list_filter = ["granularity", "dimension", "workspace"]
    search_fields = ["key"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RunRollup)
class RunRollupAdmin(_RollupCellsAdmin):
    """The dashboards' run cells."""

    list_display = ["bucket", "granularity", "workspace", "dimension", "key", "runs", "failures", "cancelled"]


# The dashboards' range presets: (span, default granularity). The pages show the last span up to now.
RANGES = {
    "24h": (timedelta(hours=24), Granularity.HOUR),
    "7d": (timedelta(days=7), Granularity.DAY),
    "30d": (timedelta(days=30), Granularity.DAY),
    "90d": (timedelta(days=90), Granularity.DAY),
}
RANGE_LABELS = {"24h": "24 h", "7d": "7 days", "30d": "30 days", "90d": "90 days"}
DEFAULT_RANGE = "7d"


@admin.register(UsageRollup)
class UsageRollupAdmin(_RollupCellsAdmin):
    """The dashboards' ledger cells, and the dashboard pages (``dashboard/``...), open to staff with the view
    permission on this model."""

    list_display = ["bucket", "granularity", "workspace", "dimension", "key", "currency", "requests", "errors",
                    "cost"]  # fmt: skip

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        name = "usage_usagerollup_dashboard"
        # Before the model's own URLs: their "<path:object_id>/" would take these.
        return [
            path("dashboard/", wrap(self.overview_view), name=name),
            path("dashboard/deployment/<int:pk>/", wrap(self.deployment_view), name=f"{name}_deployment"),
            path("dashboard/workflow/<int:pk>/", wrap(self.workflow_view), name=f"{name}_workflow"),
            path("dashboard/data/<slug:workspace>/", wrap(self.data_view), name=f"{name}_data"),
            *super().get_urls(),
        ]

    def _check_permission(self, request: HttpRequest) -> None:
        # has_change_permission is always False here: this is the view permission alone.
        if not self.has_view_permission(request):
            raise PermissionDenied

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        """A workspace's usage over time and its top deployments, models, API keys and end users."""
        self._check_permission(request)
        workspaces = list(Workspace.objects.order_by("name", "slug"))
        chosen = request.GET.get("workspace", "")
        workspace = next((w for w in workspaces if w.slug == chosen), workspaces[0] if workspaces else None)
        return self._page(request, "Usage dashboard", workspace, workspaces=workspaces)

    def deployment_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """One deployment's usage (the ledger keys deployments by id)."""
        self._check_permission(request)
        deployment = get_object_or_404(Deployment.objects.select_related("workspace"), pk=pk)
        return self._page(
            request,
            f"Usage of deployment {deployment.slug}",
            deployment.workspace,
            group=(Dimension.DEPLOYMENT, str(deployment.pk)),
            subject_url=reverse("admin:deployments_deployment_change", args=[deployment.pk]),
        )

    def workflow_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """One workflow's usage (the ledger keys workflows by slug, through their runs)."""
        self._check_permission(request)
        workflow = get_object_or_404(Workflow.objects.select_related("workspace"), pk=pk)
        return self._page(
            request,
            f"Usage of workflow {workflow.slug}",
            workflow.workspace,
            group=(Dimension.WORKFLOW, workflow.slug),
            subject_url=reverse("admin:studio_workflow_change", args=[workflow.pk]),
        )

    def _page(
        self,
        request: HttpRequest,
        title: str,
        workspace: Workspace | None,
        *,
        workspaces: list[Workspace] | None = None,
        group: tuple[str, str] | None = None,
        subject_url: str = "",
    ) -> TemplateResponse:
        chosen_range = request.GET.get("range", "")
        chosen_range = chosen_range if chosen_range in RANGES else DEFAULT_RANGE
        span, default_granularity = RANGES[chosen_range]
        chosen_granularity = request.GET.get("granularity", "")  # "": the range's own
        if chosen_granularity not in Granularity.values:
            chosen_granularity = ""
        granularity = chosen_granularity or default_granularity
        config: dict[str, Any] | None = None
        if workspace is not None:
            config = {
                "dataUrl": _data_url(workspace, span, granularity, group),
                "key": group[1] if group else None,
                "showTop": group is None,
            }
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "workspace": workspace,
            "workspaces": workspaces,
            "ranges": RANGE_LABELS,
            "chosen_range": chosen_range,
            "granularities": Granularity.choices,
            "chosen_granularity": chosen_granularity,
            "overview_url": reverse("admin:usage_usagerollup_dashboard"),
            "subject_url": subject_url,
            "config": config,
        }
        return TemplateResponse(request, "admin/usage/dashboard.html", context)

    def data_view(self, request: HttpRequest, workspace: str) -> JsonResponse:
        """The dashboard as JSON (the usage API's parameters, plus ``with_top=0``), with display labels of
        deployments and API keys; 400 ``{"detail", "fields"}`` naming a bad parameter."""
        self._check_permission(request)
        found = Workspace.objects.filter(slug=workspace).first()
        if found is None:
            return JsonResponse({"detail": "No such workspace."}, status=404)
        try:
            query = dashboard_query_from(request.GET)
            view = dashboard(workspace=found, query=query, with_top=request.GET.get("with_top") != "0")
        except ValidationError as exc:
            return JsonResponse({"detail": exc.message, "fields": exc.fields}, status=400)
        view["labels"] = _labels(found, view)
        return JsonResponse(view, encoder=JSONEncoder)  # the usage API's encoding of the same dict


def _data_url(workspace: Workspace, span: timedelta, granularity: str, group: tuple[str, str] | None) -> str:
    # Whole buckets up to the current one included: "7 days" by day is today and the six days before.
    step = timedelta(hours=1) if granularity == Granularity.HOUR else timedelta(days=1)
    now = datetime.now(UTC)
    end = datetime.fromtimestamp(now.timestamp() // step.total_seconds() * step.total_seconds(), UTC) + step
    params = QueryDict(mutable=True)
    params.update({"start": (end - span).isoformat(), "end": end.isoformat(), "granularity": granularity})
    if group is not None:
        params.update({"group_by": group[0], "key": group[1], "with_top": "0"})
    url = reverse("admin:usage_usagerollup_dashboard_data", args=[workspace.slug])
    return f"{url}?{params.urlencode()}"


def _labels(workspace: Workspace, view: dict[str, Any]) -> dict[str, dict[str, dict[str, str]]]:
    """Names (and dashboard links) of the deployments and API keys the view shows, which the ledger keys by id."""
    top = view.get("top", {})
    deployment_ids = [row["key"] for row in top.get(Dimension.DEPLOYMENT, [])]
    if view["group_by"] == Dimension.DEPLOYMENT:
        deployment_ids += [series["key"] for series in view["series"]]
    key_ids = [row["key"] for row in top.get(Dimension.API_KEY, [])]
    deployments = Deployment.objects.filter(workspace=workspace, pk__in=_ids(deployment_ids))
    keys = ApiKey.objects.filter(workspace=workspace, pk__in=_ids(key_ids))
    return {
        "deployment": {
            str(d.pk): {
                "label": d.slug,
                "url": reverse("admin:usage_usagerollup_dashboard_deployment", args=[d.pk]),
            }
            for d in deployments.only("pk", "slug")
        },
        "api_key": {
            str(k.pk): {"label": f"{k.name} ({k.prefix}…)"} for k in keys.only("pk", "name", "prefix")
        },
    }


def _ids(keys: list[str]) -> list[int]:
    return [int(key) for key in keys if key.isascii() and key.isdigit() and len(key) < 19]  # fits a bigint


@admin.register(UsageSettings)
class UsageSettingsAdmin(admin.ModelAdmin[UsageSettings]):
    """Each workspace's reporting currency and the rates that convert other currencies into it."""

    list_display = ["workspace", "currency", "rates", "updated_at"]
    search_fields = ["workspace__slug", "workspace__name"]
    list_select_related = ["workspace"]
