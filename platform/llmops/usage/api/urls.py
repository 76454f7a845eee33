"""Routes of the usage API (mounted under /api/)."""

from __future__ import annotations

from django.urls import path

from llmops.usage.api.views import UsageRecordListView, UsageSummaryView

urlpatterns = [
    path("workspaces/<slug:workspace>/usage/records/", UsageRecordListView.as_view(), name="usage-records"),
    path("workspaces/<slug:workspace>/usage/summary/", UsageSummaryView.as_view(), name="usage-summary"),
]
