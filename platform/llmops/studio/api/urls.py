"""Routes of the studio API (workflows)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from llmops.studio.api.workflows import WorkflowViewSet

router = SimpleRouter()
router.register(r"workspaces/(?P<workspace>[-a-zA-Z0-9_]+)/workflows", WorkflowViewSet, basename="workflow")

urlpatterns = [*router.urls]
