"""Routes of the providers API (mounted under /api/)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from llmops.providers.api.views import CatalogModelListView, ModelEndpointViewSet

router = SimpleRouter()
router.register(
    r"workspaces/(?P<workspace>[-a-zA-Z0-9_]+)/model-endpoints",
    ModelEndpointViewSet,
    basename="model-endpoint",
)

urlpatterns = [
    path("model-catalogue/", CatalogModelListView.as_view(), name="model-catalogue"),
    *router.urls,
]
