"""Routes of the runs API."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from llmops.runs.api.schedules import ScheduleViewSet
from llmops.runs.api.views import RunViewSet

router = SimpleRouter()
router.register(r"workspaces/(?P<workspace>[-a-zA-Z0-9_]+)/runs", RunViewSet, basename="run")
router.register(r"workspaces/(?P<workspace>[-a-zA-Z0-9_]+)/schedules", ScheduleViewSet, basename="schedule")

urlpatterns = [*router.urls]
