"""Routes of the usage API (mounted under /api/)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from llmops.usage.api.views import (
    BudgetViewSet,
    UsageDashboardView,
    UsageRecordListView,
    UsageSettingsView,
    UsageSummaryView,
)

router = SimpleRouter()
router.register(r"workspaces/(?P<workspace>[-a-zA-Z0-9_]+)/budgets", BudgetViewSet, basename="budget")

urlpatterns: list[URLPattern | URLResolver] = [
    path("workspaces/<slug:workspace>/usage/records/", UsageRecordListView.as_view(), name="usage-records"),
    path("workspaces/<slug:workspace>/usage/summary/", UsageSummaryView.as_view(), name="usage-summary"),
    path(
        "workspaces/<slug:workspace>/usage/dashboard/", UsageDashboardView.as_view(), name="usage-dashboard"
    ),
    path("workspaces/<slug:workspace>/usage/settings/", UsageSettingsView.as_view(), name="usage-settings"),
]
urlpatterns += router.urls
