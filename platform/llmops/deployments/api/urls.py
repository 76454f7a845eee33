"""Routes of the deployments console API (mounted under ``/api/``)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from llmops.deployments.api.console import ApiKeyViewSet, DeploymentViewSet

router = SimpleRouter()
router.register(
    r"workspaces/(?P<workspace>[-a-zA-Z0-9_]+)/deployments", DeploymentViewSet, basename="deployment"
)
router.register(r"workspaces/(?P<workspace>[-a-zA-Z0-9_]+)/api-keys", ApiKeyViewSet, basename="api-key")

urlpatterns = [*router.urls]
