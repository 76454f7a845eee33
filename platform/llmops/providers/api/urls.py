"""Routes of the providers API (mounted under /api/)."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from llmops.providers.api.views import (
    CatalogModelListView,
    CatalogPriceChangesView,
    CatalogPriceChangeView,
    ModelEndpointViewSet,
)

router = SimpleRouter()
router.register(
    r"workspaces/(?P<workspace>[-a-zA-Z0-9_]+)/model-endpoints",
    ModelEndpointViewSet,
    basename="model-endpoint",
)

urlpatterns = [
    path("model-catalogue/", CatalogModelListView.as_view(), name="model-catalogue"),
    path("model-catalogue/<int:pk>/prices/", CatalogPriceChangesView.as_view(), name="catalogue-prices"),
    path(
        "model-catalogue/<int:pk>/prices/<int:change>/",
        CatalogPriceChangeView.as_view(),
        name="catalogue-price",
    ),
    *router.urls,
]
