"""Routes of the usage API (mounted under /api/)."""

from __future__ import annotations

from django.urls import path

from llmops.usage.api.views import (
    UsageDashboardView,
    UsageRecordListView,
    UsageSettingsView,
    UsageSummaryView,
)

urlpatterns = [
    path("workspaces/<slug:workspace>/usage/records/", UsageRecordListView.as_view(), name="usage-records"),
    path("workspaces/<slug:workspace>/usage/summary/", UsageSummaryView.as_view(), name="usage-summary"),
    path(
        "workspaces/<slug:workspace>/usage/dashboard/", UsageDashboardView.as_view(), name="usage-dashboard"
    ),
    path("workspaces/<slug:workspace>/usage/settings/", UsageSettingsView.as_view(), name="usage-settings"),
]
