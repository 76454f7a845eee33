"""Routes of the studio API (workflows)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from llmops.studio.api.catalogue import NodeTypesView
from llmops.studio.api.workflows import WorkflowViewSet

router = SimpleRouter()
router.register(r"workspaces/(?P<workspace>[-a-zA-Z0-9_]+)/workflows", WorkflowViewSet, basename="workflow")

urlpatterns = [path("node-types/", NodeTypesView.as_view(), name="node-types"), *router.urls]
